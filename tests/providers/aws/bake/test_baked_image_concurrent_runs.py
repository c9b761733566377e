"""Two runs of one bake at once: what a killed ``pulumi up`` leaves baking, and its retry.

A SIGKILLed ``pulumi up`` leaves its dynamic-provider host running (plugins run in
their own process group), so the bake it started may go on while the recovery
``pulumi up`` bakes the same bake id (tests/e2e/test_interrupted_up.py shows it under
the engine). Both call CreateImage with the same deterministic name: AWS accepts the
first and refuses the second with InvalidAMIName.Duplicate. The loser must adopt the
winner's image, not fail (and not make snapshots of its own: a refused CreateImage
makes none).
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.errors import ImageNameTakenError
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext.golden import seed_golden_instance

LINEAGE = "bakery/test/golden"


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


def _request(instance_id: str, bake: str = "bake-1") -> BakeRequest:
    return BakeRequest(
        instance_id=instance_id, name=f"golden-{bake}", bake_id=bake, lineage=LINEAGE
    )


def _snapshot_ids(ec2: Any) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def _images(ec2: Any) -> list[dict[str, Any]]:
    return list(ec2.describe_images(Owners=["self"])["Images"])


def _other_run_creates_first(ec2: Any) -> list[str]:
    """Let the other run's CreateImage (same params) land just before ours, once."""
    other = make_client("ec2", region=REGION)
    created: list[str] = []

    def create_first(params: dict[str, Any], **_: Any) -> None:
        if not created:
            created.append(other.create_image(**params)["ImageId"])

    ec2.meta.events.register("before-parameter-build.ec2.CreateImage", create_first)
    return created


def test_bake_image_other_run_of_same_bake_creates_first_adopts_its_image(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    req = _request(instance_id)
    created = _other_run_creates_first(ec2)

    info = bake_image(ec2, req, pacing=pacing)

    assert created and info.image_id == created[0]
    [image] = _images(ec2)
    assert image["ImageId"] == info.image_id
    assert tags.to_dict(image["Tags"])[tags.BAKE_ID] == req.bake_id
    assert _snapshot_ids(ec2) == set(info.snapshot_ids) and len(info.snapshot_ids) == 3
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] == "running"
    assert tags.STOPPED_BY not in tags.to_dict(instance.get("Tags"))


def test_bake_image_name_taken_at_create_by_other_bake_still_raises(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    req = _request(instance_id)
    other = make_client("ec2", region=REGION)

    def someone_else_takes_the_name(params: dict[str, Any], **_: Any) -> None:
        if not _images(other):
            other.register_image(Name=params["Name"], RootDeviceName="/dev/sda1")

    ec2.meta.events.register("before-parameter-build.ec2.CreateImage", someone_else_takes_the_name)

    with pytest.raises(ImageNameTakenError):
        bake_image(ec2, req, pacing=pacing)

    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] == "running"  # put back before the error
