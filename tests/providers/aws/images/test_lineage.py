"""providers/aws/images/lineage.py: a lineage's images from AWS, and what releasing one does.

The last test bakes real lineages (tests/providers/aws/images/test_retention.py's helper) and
checks that the plan a preview shows is what retention.release_image then does.
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws import tags
from providers.aws.images.lineage import LineageImage, lineage_images, release_plan
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.providers.aws.images.test_retention import LINEAGE as RETENTION_LINEAGE
from tests.providers.aws.images.test_retention import Lineage as RetentionLineage

LINEAGE = "bakery/dev/image"


def _register(
    ec2: Any, name: str, baked_at: str, *, lineage: str = LINEAGE, retired: bool = False
) -> str:
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
    image_id = str(
        ec2.register_image(
            Name=name,
            RootDeviceName="/dev/sda1",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot}}],
        )["ImageId"]
    )
    image_tags = {tags.LINEAGE: lineage, tags.BAKED_AT: baked_at}
    if retired:
        image_tags[tags.RETIRED_AT] = baked_at
    ec2.create_tags(Resources=[image_id], Tags=tags.to_list(image_tags))
    return image_id


def _image(
    image_id: str, baked_at: str, *, retired: bool = False, in_use: tuple[str, ...] = ()
) -> LineageImage:
    return LineageImage(image_id, image_id, baked_at, retired, 2, in_use)


def test_lineage_images_lists_only_the_lineage_newest_first_with_retired_flags(
    ec2: Any, autoscaling: Any
) -> None:
    old = _register(ec2, "image-a", "2026-01-01T00:00:00Z", retired=True)
    new = _register(ec2, "image-b", "2026-02-01T00:00:00Z")
    _register(ec2, "other", "2026-03-01T00:00:00Z", lineage="bakery/prod/image")
    copy = _register(ec2, "image-b-copy", "2026-02-01T00:00:00Z")
    ec2.create_tags(Resources=[copy], Tags=tags.to_list({tags.COPY_OF: new}))

    found = lineage_images(ec2, autoscaling, LINEAGE)

    assert [(i.image_id, i.retired) for i in found] == [(new, False), (old, True)]
    assert found[0].baked_at == "2026-02-01T00:00:00Z"
    assert found[0].snapshot_count == 1 and found[0].in_use == ()


def test_lineage_images_names_who_uses_an_image(ec2: Any, autoscaling: Any) -> None:
    used = _register(ec2, "image-a", "2026-01-01T00:00:00Z", retired=True)
    instance = ec2.run_instances(ImageId=used, MinCount=1, MaxCount=1)["Instances"][0]

    [image] = lineage_images(ec2, autoscaling, LINEAGE)

    assert any(instance["InstanceId"] in why for why in image.in_use), image.in_use


def test_release_plan_replacement_retires_the_old_image_and_prunes_beyond_keep_previous() -> None:
    current = _image("ami-3", "3")
    images = [current, _image("ami-2", "2", retired=True), _image("ami-1", "1", retired=True)]

    plan = release_plan(
        images, released_id="ami-3", replaced=True, keep_previous=2, retain_on_delete=False
    )

    assert [i.image_id for i in plan.retire] == ["ami-3"]
    assert [i.image_id for i in plan.keep] == ["ami-2"]
    assert [i.image_id for i in plan.deregister] == ["ami-1"]


def test_release_plan_keep_previous_zero_deregisters_the_replaced_image_at_once() -> None:
    plan = release_plan(
        [_image("ami-1", "1")],
        released_id="ami-1",
        replaced=True,
        keep_previous=0,
        retain_on_delete=False,
    )

    assert plan.retire == () and [i.image_id for i in plan.deregister] == ["ami-1"]


def test_release_plan_destroy_removes_the_lineage_unless_retained() -> None:
    images = [_image("ami-2", "2"), _image("ami-1", "1", retired=True)]

    removed = release_plan(
        images, released_id="ami-2", replaced=False, keep_previous=1, retain_on_delete=False
    )
    kept = release_plan(
        images, released_id="ami-2", replaced=False, keep_previous=1, retain_on_delete=True
    )

    assert [i.image_id for i in removed.deregister] == ["ami-2", "ami-1"]
    assert kept.deregister == () and len(kept.keep) == 2


def test_release_plan_keeps_images_in_use_and_counts_only_unused_ones() -> None:
    used = _image("ami-2", "2", retired=True, in_use=("instance i-1 (running)",))
    images = [_image("ami-3", "3"), used, _image("ami-1", "1", retired=True)]

    plan = release_plan(
        images, released_id="ami-3", replaced=True, keep_previous=1, retain_on_delete=False
    )
    destroy = release_plan(
        images, released_id="ami-3", replaced=False, keep_previous=1, retain_on_delete=False
    )

    assert [i.image_id for i in plan.retire] == ["ami-3"]
    assert [i.image_id for i in plan.keep] == ["ami-2"]
    assert [i.image_id for i in plan.deregister] == ["ami-1"]
    assert [i.image_id for i in destroy.keep] == ["ami-2"]
    assert [i.image_id for i in destroy.deregister] == ["ami-3", "ami-1"]


def _ids(images: tuple[LineageImage, ...]) -> list[str]:
    return sorted(i.image_id for i in images)


def _plan_of_current(ec2: Any, autoscaling: Any, series: Any, *, replaced: bool) -> Any:
    """The plan for releasing the series' current image, from what AWS holds now."""
    return release_plan(
        lineage_images(ec2, autoscaling, RETENTION_LINEAGE),
        released_id=series.ids[-1],
        replaced=replaced,
        keep_previous=1,
        retain_on_delete=False,
    )


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


@pytest.mark.parametrize("used", [False, True])
def test_release_plan_before_a_rebake_and_a_destroy_says_what_retention_then_does(
    ec2: Any, autoscaling: Any, pacing: Pacing, used: bool
) -> None:
    series = RetentionLineage(ec2, autoscaling, pacing, keep_previous=1)
    for _ in range(3):
        series.bake()
    if used:  # an instance runs the retired image: retention must keep it
        ec2.run_instances(ImageId=series.ids[1], MinCount=1, MaxCount=1)

    rebake = _plan_of_current(ec2, autoscaling, series, replaced=True)
    report = series.bake()
    assert report is not None
    assert _ids(rebake.retire) == sorted(report.retired)
    assert _ids(rebake.deregister) == sorted(report.deregistered)
    in_use = tuple(i for i in rebake.keep if i.in_use)
    assert _ids(in_use) == sorted(k.image_id for k in report.kept)
    assert bool(in_use) == used

    destroy = _plan_of_current(ec2, autoscaling, series, replaced=False)
    report = series.destroy()
    assert _ids(destroy.deregister) == sorted(report.deregistered)
    assert _ids(destroy.keep) == sorted(k.image_id for k in report.kept)
