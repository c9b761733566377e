"""Retention against moto: what a replacement or destroy keeps, prunes and reports.

Every test checks snapshots as well as images. moto ignores DeleteAssociatedSnapshots,
deregistration protection, IncludeDisabled and lastLaunchedTime; tests/moto_ext/
image_lifecycle.py models them as the EC2 API reference documents them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image, describe_baked_image
from providers.aws.clients import make_client
from providers.aws.images.hold import hold_image, release_hold
from providers.aws.images.retention import Region, ReleaseReport, release_image
from providers.aws.images.use import UsePolicy
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock, Ticker
from tests.moto_ext import image_lifecycle
from tests.moto_ext.golden import BASE_IMAGE_ID, seed_golden_instance
from tests.recording import CallRecorder

LINEAGE = "bakery/test/golden"
COPY_REGION = "eu-west-1"


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


class Lineage:
    """Bakes of one lineage, released as Pulumi replaces and destroys them."""

    def __init__(self, ec2: Any, autoscaling: Any, pacing: Pacing, **release: Any) -> None:
        self.ec2 = ec2
        self.autoscaling = autoscaling
        self.pacing = pacing
        self.instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
        self.now = Ticker()
        self.ids: list[str] = []
        self.snapshots: dict[str, set[str]] = {}
        self.release = {"keep_previous": 0, "retain_on_delete": False, **release}
        self.logs: list[str] = []

    def bake(self) -> ReleaseReport | None:
        """One re-bake: create the new image, then release the old (as Pulumi does)."""
        n = len(self.ids)
        req = BakeRequest(
            instance_id=self.instance_id, name=f"golden-{n}", bake_id=f"bake-{n}", lineage=LINEAGE
        )
        info = bake_image(self.ec2, req, pacing=self.pacing, now=self.now)
        self.snapshots[info.image_id] = set(info.snapshot_ids)
        report = self._release(self.ids[-1]) if self.ids else None
        self.ids.append(info.image_id)
        return report

    def destroy(self) -> ReleaseReport:
        return self._release(self.ids[-1])

    def _release(self, image_id: str) -> ReleaseReport:
        return release_image(
            self.ec2,
            self.autoscaling,
            image_id,
            lineage=LINEAGE,
            snapshot_ids=sorted(self.snapshots[image_id]),
            log=self.logs.append,
            now=self.now,
            **self.release,
        )

    def images(self) -> set[str]:
        found = self.ec2.describe_images(
            Owners=["self"],
            IncludeDisabled=True,
            Filters=[{"Name": f"tag:{tags.LINEAGE}", "Values": [LINEAGE]}],
        )["Images"]
        return {i["ImageId"] for i in found}

    def all_snapshots(self) -> set[str]:
        return {
            s["SnapshotId"] for s in self.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        }

    def snapshots_of(self, *image_ids: str) -> set[str]:
        return set().union(*(self.snapshots[i] for i in image_ids))


@pytest.fixture
def lineage(ec2: Any, autoscaling: Any, pacing: Pacing) -> Lineage:
    return Lineage(ec2, autoscaling, pacing)


def test_release_image_three_rebakes_keep_previous_one_leaves_current_and_previous(
    ec2, autoscaling, pacing
) -> None:
    series = Lineage(ec2, autoscaling, pacing, keep_previous=1)
    for _ in range(3):
        series.bake()

    assert series.images() == set(series.ids[1:])
    retired = ec2.describe_images(ImageIds=[series.ids[1]])["Images"][0]
    assert tags.RETIRED_AT in tags.to_dict(retired["Tags"])
    assert series.all_snapshots() == series.snapshots_of(*series.ids[1:])
    assert len(series.all_snapshots()) == 6


def test_release_image_keep_previous_zero_removes_replaced_image_and_its_snapshots(
    lineage,
) -> None:
    lineage.bake()
    report = lineage.bake()

    assert lineage.images() == {lineage.ids[1]}
    assert lineage.all_snapshots() == lineage.snapshots_of(lineage.ids[1])
    assert report is not None and report.deregistered == (lineage.ids[0],)
    assert set(report.snapshots_deleted) == lineage.snapshots_of(lineage.ids[0])


def test_release_image_deregisters_with_delete_associated_snapshots(ec2, lineage) -> None:
    calls = CallRecorder().attach(ec2)
    lineage.bake()
    lineage.bake()

    assert calls.of("DeregisterImage") == [
        {"ImageId": lineage.ids[0], "DeleteAssociatedSnapshots": True}
    ]


def test_release_image_destroy_removes_whole_lineage_and_logs_it_first(ec2, autoscaling, pacing):
    series = Lineage(ec2, autoscaling, pacing, keep_previous=1)
    series.bake()
    series.bake()

    report = series.destroy()

    assert set(report.deregistered) == set(series.ids)
    assert series.images() == set()
    assert series.all_snapshots() == set()
    old, current = series.ids
    assert any(
        line.startswith(f"will remove {old} (retired, not in the Pulumi state)")
        for line in series.logs
    )
    current_line = next(line for line in series.logs if line.startswith(f"will remove {current}"))
    assert all(s in current_line for s in series.snapshots[current])


def test_release_image_destroy_with_retain_on_delete_keeps_images_and_snapshots(
    ec2, autoscaling, pacing
) -> None:
    series = Lineage(ec2, autoscaling, pacing, keep_previous=1, retain_on_delete=True)
    series.bake()
    before = series.all_snapshots()

    report = series.destroy()

    assert report.retained == tuple(series.ids)
    assert series.images() == set(series.ids)
    assert series.all_snapshots() == before == series.snapshots_of(*series.ids)


def test_release_image_already_deregistered_succeeds_and_deletes_snapshots(ec2, lineage) -> None:
    lineage.bake()
    ec2.deregister_image(ImageId=lineage.ids[0])

    lineage.destroy()

    assert lineage.all_snapshots() == set()
    assert describe_baked_image(ec2, lineage.ids[0]) is None


# --- the in-use guard: each use survives two re-bakes, and the first run after it ends
# --- prunes the image (keep_previous 0).


def _survives_two_rebakes_then_pruned(lineage: Lineage, end_use: Any, why: str) -> None:
    used = lineage.ids[0]
    for _ in range(2):
        report = lineage.bake()
        assert report is not None
        assert used in lineage.images()
        assert lineage.snapshots_of(used) <= lineage.all_snapshots()
        kept = {k.image_id: str(k) for k in report.kept}
        assert why in kept[used], kept
        assert any(line.startswith(f"kept {used} : in use by") for line in lineage.logs)
    end_use()

    report = lineage.bake()

    assert report is not None and used in report.deregistered
    assert lineage.images() == {lineage.ids[-1]}
    assert lineage.all_snapshots() == lineage.snapshots_of(lineage.ids[-1])


def test_release_image_instance_launched_from_image_keeps_it_until_terminated(ec2, lineage) -> None:
    lineage.bake()
    instance = ec2.run_instances(ImageId=lineage.ids[0], MinCount=1, MaxCount=1)["Instances"][0]

    _survives_two_rebakes_then_pruned(
        lineage,
        lambda: ec2.terminate_instances(InstanceIds=[instance["InstanceId"]]),
        f"instance {instance['InstanceId']} (running)",
    )


def test_release_image_launch_template_version_of_a_group_keeps_it_until_moved(
    ec2, autoscaling, lineage
) -> None:
    lineage.bake()
    template = ec2.create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"ImageId": BASE_IMAGE_ID}
    )["LaunchTemplate"]
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"],
        LaunchTemplateData={"ImageId": lineage.ids[0], "InstanceType": "t3.micro"},
    )["LaunchTemplateVersion"]["VersionNumber"]
    # A later version that is neither default nor used: the group's version is what counts.
    ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"],
        LaunchTemplateData={"ImageId": BASE_IMAGE_ID},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web",
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": str(version)},
        MinSize=0,
        MaxSize=1,
        DesiredCapacity=0,
        AvailabilityZones=[f"{REGION}a"],
    )

    def move_group() -> None:
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="web",
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
        )

    _survives_two_rebakes_then_pruned(
        lineage, move_group, f"group web through {template['LaunchTemplateId']} version {version}"
    )


def test_release_image_default_launch_template_version_keeps_it(ec2, lineage) -> None:
    lineage.bake()
    template = ec2.create_launch_template(
        LaunchTemplateName="spare", LaunchTemplateData={"ImageId": lineage.ids[0]}
    )["LaunchTemplate"]

    _survives_two_rebakes_then_pruned(
        lineage,
        lambda: ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"]),
        f"{template['LaunchTemplateId']} version 1 (default)",
    )


def test_release_image_hold_of_a_promoting_stack_keeps_it_until_released(ec2, lineage) -> None:
    lineage.bake()
    assert hold_image(ec2, lineage.ids[0], "acme/bakery/prod")

    _survives_two_rebakes_then_pruned(
        lineage,
        lambda: release_hold(ec2, lineage.ids[0], "acme/bakery/prod"),
        "held by acme/bakery/prod",
    )


def test_release_image_shared_image_is_kept_unless_prune_shared(ec2, autoscaling, pacing) -> None:
    series = Lineage(ec2, autoscaling, pacing)
    series.bake()
    ec2.modify_image_attribute(
        ImageId=series.ids[0], LaunchPermission={"Add": [{"UserId": "111122223333"}]}
    )

    report = series.bake()
    assert report is not None and "shared with 111122223333" in str(report.kept[0])
    series.release["policy"] = UsePolicy(prune_shared=True)
    series.bake()

    assert series.images() == {series.ids[-1]}


def test_release_image_keep_launched_within_days_keeps_recently_launched(
    ec2, autoscaling, pacing
) -> None:
    series = Lineage(ec2, autoscaling, pacing, policy=UsePolicy(keep_launched_within_days=7))
    series.bake()
    image_lifecycle.record_launch(series.ids[0], series.now.at - timedelta(days=2))

    report = series.bake()
    assert report is not None and "within keep_launched_within_days 7" in str(report.kept[0])
    image_lifecycle.record_launch(series.ids[0], series.now.at - timedelta(days=8))
    series.bake()

    assert series.ids[0] not in series.images()


def test_release_image_keep_previous_counts_only_unused_images(ec2, autoscaling, pacing) -> None:
    series = Lineage(ec2, autoscaling, pacing, keep_previous=1)
    series.bake()
    ec2.run_instances(ImageId=series.ids[0], MinCount=1, MaxCount=1)
    for _ in range(3):
        series.bake()

    # ids[0] in use (kept, not counted), ids[2] the one unused rollback image, ids[3] current.
    assert series.images() == {series.ids[0], series.ids[2], series.ids[3]}


def test_release_image_destroy_keeps_image_in_use_and_says_so(ec2, lineage) -> None:
    lineage.bake()
    instance = ec2.run_instances(ImageId=lineage.ids[0], MinCount=1, MaxCount=1)["Instances"][0]

    report = lineage.destroy()

    assert lineage.images() == {lineage.ids[0]}
    assert lineage.all_snapshots() == lineage.snapshots_of(lineage.ids[0])
    assert report.deregistered == ()
    assert f"kept {lineage.ids[0]} : in use by instance {instance['InstanceId']} (running)" in (
        lineage.logs
    )


# --- clean deregistration


def _other_image_of(ec2: Any, snapshot_id: str) -> str:
    """Another image (not Bakery's) made from the snapshot: AWS refuses to delete it now."""
    return str(
        ec2.register_image(
            Name="someone-elses",
            RootDeviceName="/dev/sda1",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot_id}}],
        )["ImageId"]
    )


def test_release_image_snapshot_in_use_is_deleted_by_the_next_run(ec2, lineage) -> None:
    lineage.bake()
    shared = sorted(lineage.snapshots[lineage.ids[0]])[0]
    other = _other_image_of(ec2, shared)

    report = lineage.bake()
    assert report is not None and report.snapshots_in_use == (shared,)
    snap = ec2.describe_snapshots(SnapshotIds=[shared])["Snapshots"][0]
    assert tags.DELETE_PENDING in tags.to_dict(snap["Tags"])
    ec2.deregister_image(ImageId=other)

    lineage.bake()  # the bake's own cleanup or the release retries it

    assert shared not in lineage.all_snapshots()
    assert lineage.all_snapshots() == lineage.snapshots_of(lineage.ids[-1])


def test_release_image_protected_image_is_kept_and_reported(ec2, lineage) -> None:
    lineage.bake()
    ec2.enable_image_deregistration_protection(ImageId=lineage.ids[0])

    report = lineage.bake()

    assert report is not None and report.deregistered == ()
    assert lineage.ids[0] in lineage.images()
    assert lineage.snapshots_of(lineage.ids[0]) <= lineage.all_snapshots()
    assert "deregistration protection is enabled-without-cooldown" in str(report.kept[0])
    assert any("deregistration protection" in line for line in lineage.logs)


def test_release_image_lifts_bakerys_own_protection_before_pruning(ec2, lineage) -> None:
    lineage.bake()
    ec2.enable_image_deregistration_protection(ImageId=lineage.ids[0])
    ec2.create_tags(Resources=[lineage.ids[0]], Tags=[{"Key": tags.PROTECTED, "Value": "on"}])

    report = lineage.bake()

    assert report is not None and report.deregistered == (lineage.ids[0],)
    assert lineage.all_snapshots() == lineage.snapshots_of(lineage.ids[1])


def test_release_image_protection_cooldown_keeps_it_until_a_later_run(ec2, lineage, monkeypatch):
    lineage.bake()
    ec2.enable_image_deregistration_protection(ImageId=lineage.ids[0], WithCooldown=True)
    ec2.create_tags(Resources=[lineage.ids[0]], Tags=[{"Key": tags.PROTECTED, "Value": "on"}])

    report = lineage.bake()
    assert report is not None and lineage.ids[0] in {k.image_id for k in report.kept}
    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(image_lifecycle, "clock", lambda: later)
    report = lineage.bake()

    assert report is not None and lineage.ids[0] in report.deregistered
    assert lineage.images() == {lineage.ids[-1]}


def test_release_image_disabled_retired_image_is_found_and_pruned(ec2, autoscaling, pacing):
    series = Lineage(ec2, autoscaling, pacing, keep_previous=1)
    series.bake()
    series.bake()
    ec2.disable_image(ImageId=series.ids[0])
    assert series.ids[0] not in {
        i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]
    }

    series.bake()

    assert series.images() == set(series.ids[1:])
    assert series.all_snapshots() == series.snapshots_of(*series.ids[1:])


def test_release_image_copy_in_another_region_is_pruned_with_its_source(
    ec2, autoscaling, lineage
) -> None:
    remote = Region(
        make_client("ec2", region=COPY_REGION), make_client("autoscaling", region=COPY_REGION)
    )
    lineage.release["copies"] = {COPY_REGION: remote}
    lineage.bake()
    source = lineage.ids[0]
    copy = remote.ec2.copy_image(Name="golden-0-copy", SourceImageId=source, SourceRegion=REGION)
    remote.ec2.create_tags(
        Resources=[copy["ImageId"]],
        Tags=tags.to_list({tags.LINEAGE: LINEAGE, tags.BAKE_ID: "bake-0", tags.COPY_OF: source}),
    )
    instance = remote.ec2.run_instances(ImageId=copy["ImageId"], MinCount=1, MaxCount=1)

    report = lineage.bake()
    assert report is not None and source in report.deregistered
    assert str(report.kept[0]).startswith(f"kept {copy['ImageId']} in {COPY_REGION} : in use")
    remote.ec2.terminate_instances(InstanceIds=[instance["Instances"][0]["InstanceId"]])
    report = lineage.bake()

    assert report is not None and copy["ImageId"] in report.deregistered
    assert remote.ec2.describe_images(Owners=["self"])["Images"] == []


def test_release_image_destroy_retries_snapshots_an_earlier_run_left(ec2, lineage) -> None:
    lineage.bake()
    shared = sorted(lineage.snapshots[lineage.ids[0]])[0]
    other = _other_image_of(ec2, shared)
    lineage.bake()
    ec2.deregister_image(ImageId=other)

    report = lineage.destroy()

    assert shared in report.snapshots_deleted
    assert lineage.all_snapshots() == set()
