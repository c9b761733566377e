"""Fixtures for the fleet providers: moto with the extensions, PACING on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import providers.fleet_base as adapter
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.harness.clients import reuse_clients
from tests.moto_ext import instance_refresh
from tests.providers.aws.conftest import Fleet, make_fleet


@pytest.fixture
def fleet(
    aws: None, autoscaling: Any, ec2: Any, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fleet]:
    """A group ``web`` of 4 on image A; the providers' clients and clock patched."""
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)
    monkeypatch.setattr(adapter, "PACING", pacing)
    reuse_clients(monkeypatch)
    with instance_refresh.installed():
        yield make_fleet(autoscaling, ec2)
