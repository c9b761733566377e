"""Fixtures for component tests: the recording mocks and the moto-backed engine.

The harnesses themselves live in ``tests/harness/`` (with tests of their own):
``pulumi_mocks`` and ``pulumi_preview_mocks`` record registrations
(``recording_mocks.RecordingMocks``); ``moto_engine`` runs programs against moto
(``moto_engine.MotoEngine``); ``network`` is a VPC and subnet in it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pulumi
import pytest

import providers.fleet_base as rollout_adapter
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.harness.clients import reuse_clients
from tests.harness.moto_engine import MotoEngine, Network
from tests.harness.recording_mocks import OptionsMonitor, RecordingMocks
from tests.moto_ext import instance_refresh


@pytest.fixture
def pulumi_mocks() -> RecordingMocks:
    """Mocks for one program run (set here, not at import: set_mocks is process-global)."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, preview=False, monitor=OptionsMonitor(mocks))
    return mocks


@pytest.fixture
def pulumi_preview_mocks() -> RecordingMocks:
    """As ``pulumi_mocks``, for a preview."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, preview=True, monitor=OptionsMonitor(mocks))
    return mocks


@pytest.fixture
def moto_engine(
    aws: None, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MotoEngine]:
    """An engine over in-process moto with instance refreshes; providers on a fake clock."""
    monkeypatch.setattr(
        rollout_adapter,
        "PACING",
        Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0),
    )
    with instance_refresh.installed():
        engine = MotoEngine()
        reuse_clients(
            monkeypatch,
            {"autoscaling": engine.autoscaling, "ec2": engine.ec2, "elbv2": engine.elbv2},
        )
        yield engine


@pytest.fixture
def network(moto_engine: MotoEngine) -> Network:
    ec2 = moto_engine.ec2
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    return Network(subnet, ec2)
