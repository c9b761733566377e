"""Fixtures for the end-to-end tests: the Pulumi CLI, a moto server, a stack, an AWS view.

``pulumi`` missing skips these tests locally and fails them when ``CI=true``: CI
(``scripts/test.sh``) installs the CLI first, so a missing CLI there is a broken build.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.clients import make_client
from tests.conftest import REGION
from tests.e2e.pulumi_cli import MotoServer, Stack, Workspace, find_pulumi
from tests.moto_ext.golden import seed_golden_instance


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    bin_dir = find_pulumi()
    if bin_dir is None:
        message = "pulumi CLI not found: run scripts/install-pulumi.sh and put its output on PATH"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: e2e tests must run)")
        pytest.skip(message)
    return bin_dir


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """A moto server with instant state changes, shared by the tests (reset per test)."""
    with MotoServer() as server:
        yield server


class Aws:
    """What the tests look at in the local AWS."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.ec2 = make_client("ec2", region=REGION, endpoint_url=endpoint_url)
        kms = make_client("kms", region=REGION, endpoint_url=endpoint_url)
        self.instance_id = seed_golden_instance(self.ec2, kms)

    def images(self) -> list[dict[str, Any]]:
        """Our registered images (Owners=self), oldest first."""
        images = self.ec2.describe_images(Owners=["self"])["Images"]
        return sorted(
            (i for i in images if i.get("State") != "deregistered"),
            key=lambda i: tags.to_dict(i.get("Tags")).get(tags.BAKED_AT, ""),
        )

    def snapshots(self) -> list[dict[str, Any]]:
        return list(self.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"])

    def image_tags(self, image: dict[str, Any]) -> dict[str, str]:
        return tags.to_dict(image.get("Tags"))

    def image_snapshot_ids(self, image: dict[str, Any]) -> set[str]:
        return {m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if "Ebs" in m}

    def instance(self) -> dict[str, Any]:
        reservations = self.ec2.describe_instances(InstanceIds=[self.instance_id])
        instance: dict[str, Any] = reservations["Reservations"][0]["Instances"][0]
        return instance

    def instance_state(self) -> str:
        return str(self.instance()["State"]["Name"])

    def instance_tags(self) -> dict[str, str]:
        return tags.to_dict(self.instance().get("Tags"))

    def assert_only_image_of_ours(self) -> dict[str, Any]:
        """Exactly one AMI, its snapshots and no others, the instance running and free."""
        images = self.images()
        assert len(images) == 1, [i["ImageId"] for i in images]
        image = images[0]
        assert image["State"] == "available"
        snapshot_ids = {s["SnapshotId"] for s in self.snapshots()}
        assert snapshot_ids == self.image_snapshot_ids(image)
        self.assert_instance_running_and_free()
        return image

    def assert_instance_running_and_free(self) -> None:
        assert self.instance_state() == "running"
        held = {k for k in self.instance_tags() if k in (tags.STOPPED_BY, tags.RESTORE_STATE)}
        assert not held, f"the instance still carries {held}"


def stack_config(aws: Aws) -> dict[str, str]:
    """The stack config that points the bake-only program at the local AWS."""
    return {
        "aws:region": REGION,
        "bakery:mode": "bake-only",
        "bakery:bake.instance_id": aws.instance_id,
        "bakery:bake.endpoint_url": aws.endpoint_url,
    }


@pytest.fixture
def aws(moto: MotoServer) -> Aws:
    """The shared moto server, emptied, with a freshly seeded golden instance."""
    moto.reset()
    return Aws(moto.url)


@pytest.fixture
def workspace(tmp_path: Path, pulumi_bin: Path) -> Iterator[Workspace]:
    ws = Workspace(tmp_path, pulumi_bin)
    yield ws
    ws.kill_leftovers()


@pytest.fixture
def stack(workspace: Workspace, aws: Aws) -> Stack:
    """A new bake-only stack of the program, pointed at the moto server."""
    return Stack(workspace).init(stack_config(aws))
