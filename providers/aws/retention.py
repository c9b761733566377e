"""Retention: what happens to a baked image when Pulumi lets go of it.

A replacement retires the old image (kept registered for rollback, tagged
``bakery:retired-at``) and prunes retired images beyond ``keep_previous``; a
destroy removes the whole lineage unless ``retain_on_delete``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.aws import tags
from providers.aws.images import deregister_image, describe_image, find_images
from providers.aws.snapshots import delete_snapshots

Now = Callable[[], datetime]


@dataclass(frozen=True)
class ReleaseReport:
    """What ``release_image`` did, for the log and for tests."""

    retired: tuple[str, ...] = ()
    deregistered: tuple[str, ...] = ()
    retained: tuple[str, ...] = ()
    snapshots_in_use: tuple[str, ...] = ()


def _baked_at(image: Mapping[str, Any]) -> str:
    return tags.to_dict(image.get("Tags")).get(tags.BAKED_AT) or image.get("CreationDate", "")


def release_image(
    ec2: Any,
    image_id: str,
    *,
    lineage: str,
    snapshot_ids: list[str],
    keep_previous: int,
    retain_on_delete: bool,
    now: Now = tags.utcnow,
) -> ReleaseReport:
    """Let go of an image Pulumi deletes: retire it on a replacement, remove it on destroy.

    A replacement (a newer image of the lineage exists) keeps the image registered,
    tagged ``bakery:retired-at``, while at most ``keep_previous`` newer images of the
    lineage exist; older retired images and their snapshots are pruned. A destroy
    (no newer image) removes the whole lineage, unless ``retain_on_delete``.

    AWS calls: DescribeImages, CreateTags, DeregisterImage, DescribeSnapshots,
    DeleteSnapshot.
    """
    lineage_images = find_images(ec2, tags.LINEAGE, lineage)
    target = next((i for i in lineage_images if i["ImageId"] == image_id), None)
    if target is None:
        target = describe_image(ec2, image_id)
    if target is None:
        # Already gone (deregistered out of band): clean up what it left.
        in_use = delete_snapshots(ec2, snapshot_ids)
        return ReleaseReport(snapshots_in_use=tuple(in_use))

    target_at = _baked_at(target)
    newer = [i for i in lineage_images if _baked_at(i) > target_at]
    if not newer:
        if retain_on_delete:
            return ReleaseReport(retained=tuple(i["ImageId"] for i in lineage_images))
        removed, in_use = [], []
        for image in sorted(
            {i["ImageId"]: i for i in [*lineage_images, target]}.values(), key=_baked_at
        ):
            in_use += deregister_image(ec2, image)
            removed.append(image["ImageId"])
        in_use += delete_snapshots(ec2, snapshot_ids)
        return ReleaseReport(deregistered=tuple(removed), snapshots_in_use=tuple(in_use))

    retired_tag = {tags.RETIRED_AT: tags.stamp(now())}
    if tags.RETIRED_AT not in tags.to_dict(target.get("Tags")):
        ec2.create_tags(Resources=[image_id], Tags=tags.to_list(retired_tag))
        target = {**target, "Tags": [*target.get("Tags", []), *tags.to_list(retired_tag)]}
    retired = [
        i
        for i in {**{i["ImageId"]: i for i in lineage_images}, image_id: target}.values()
        if tags.RETIRED_AT in tags.to_dict(i.get("Tags"))
    ]
    removed, in_use = [], []
    for image in retired:
        count_newer = sum(1 for i in lineage_images if _baked_at(i) > _baked_at(image))
        if count_newer > keep_previous:
            in_use += deregister_image(ec2, image)
            removed.append(image["ImageId"])
    return ReleaseReport(
        retired=(image_id,) if image_id not in removed else (),
        deregistered=tuple(removed),
        snapshots_in_use=tuple(in_use),
    )
