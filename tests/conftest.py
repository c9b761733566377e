"""Shared fixtures: a moto-backed AWS, clients, a fake clock and Pulumi mocks."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

REGION = "us-east-1"

# Fake credentials for moto, set before any boto3 client exists. Their values are
# searched for in state and logs by the credential tests.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIATESTINGBAKERY0001",
    "AWS_SECRET_ACCESS_KEY": "bakery-testing-secret-key-do-not-leak",
    "AWS_SESSION_TOKEN": "bakery-testing-session-token",
    "AWS_DEFAULT_REGION": REGION,
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
for _k, _v in FAKE_ENV.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def aws() -> Iterator[None]:
    """An in-process moto AWS, faithful where Bakery needs it (tests/moto_ext)."""
    from moto import mock_aws

    from tests.moto_ext import faithful_images, image_lifecycle, instance_hazards, ssm_commands

    with (
        faithful_images.installed(),
        instance_hazards.installed(),
        image_lifecycle.installed(),
        ssm_commands.installed(),
        mock_aws(),
    ):
        yield


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real HTTP moto endpoint on 127.0.0.1 (free port), faithful like ``aws``."""
    from moto.server import ThreadedMotoServer

    from tests.moto_ext import faithful_images, image_lifecycle, instance_hazards, ssm_commands

    with (
        faithful_images.installed(),
        instance_hazards.installed(),
        image_lifecycle.installed(),
        ssm_commands.installed(),
    ):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The session moto server, reset to empty for this test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    return moto_server


@pytest.fixture
def ec2(aws: None) -> Any:
    from providers.aws.clients import make_client

    return make_client("ec2", region=REGION)


@pytest.fixture
def autoscaling(aws: None) -> Any:
    from providers.aws.clients import make_client

    return make_client("autoscaling", region=REGION)


@pytest.fixture
def ssm(aws: None) -> Any:
    from providers.aws.clients import make_client

    return make_client("ssm", region=REGION)


def plain_image(ec2: Any, name: str = "golden") -> str:
    """An image of one fresh 8 GiB snapshot (not a bake): for holds and lookups."""
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
    return str(
        ec2.register_image(
            Name=name,
            RootDeviceName="/dev/sda1",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot}}],
        )["ImageId"]
    )


class Ticker:
    """A wall clock for ``now``: each call one second later (orders a lineage's bakes)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real Pulumi CLI ``e2e``: scripts/test.sh runs the
    unit tests (``-m "not e2e"``) before it looks for a CLI, then these (``-m e2e``)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "pulumi_bin" in fixtures or "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


def closed_endpoint() -> str:
    """An http endpoint on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
