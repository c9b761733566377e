"""A lineage's images as a preview sees them: which are retired, and their snapshots.

Read-only (DescribeImages with a ``tag:bakery:lineage`` filter), for the PR preview
report (scripts/pr_preview.py): images a run retires or deregisters that the Pulumi
state does not hold, because a replacement only *retires* the old image and the
state then forgets it. ``release_plan`` applies the rule of
``retention.release_image`` (keep at most ``keep_previous`` retired images newer
than a pruned one; a destroy removes the whole lineage) to that listing, without
changing anything.

AWS page relied on: DescribeImages, filter ``tag:<key>`` and ``Owners=self``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.aws import tags
from providers.aws.images import find_images, mapped_snapshot_ids


@dataclass(frozen=True)
class LineageImage:
    """One registered image of a lineage."""

    image_id: str
    name: str
    baked_at: str
    retired: bool
    snapshot_count: int


@dataclass(frozen=True)
class ReleasePlan:
    """What a run does to the lineage's images: retire some, deregister others."""

    retire: tuple[LineageImage, ...] = ()
    deregister: tuple[LineageImage, ...] = ()
    keep: tuple[LineageImage, ...] = ()


def _as_lineage_image(image: Mapping[str, Any]) -> LineageImage:
    image_tags = tags.to_dict(image.get("Tags"))
    return LineageImage(
        image_id=str(image["ImageId"]),
        name=str(image.get("Name", "")),
        baked_at=image_tags.get(tags.BAKED_AT) or str(image.get("CreationDate", "")),
        retired=tags.RETIRED_AT in image_tags,
        snapshot_count=len(mapped_snapshot_ids(image)),
    )


def lineage_images(ec2: Any, lineage: str) -> list[LineageImage]:
    """The lineage's registered images, newest first.

    AWS calls: DescribeImages (Owners=self, tag:bakery:lineage).
    """
    found = [
        _as_lineage_image(i)
        for i in find_images(ec2, tags.LINEAGE, lineage)
        if i.get("State") != "deregistered"
    ]
    return sorted(found, key=lambda i: i.baked_at, reverse=True)


def release_plan(
    images: Sequence[LineageImage],
    *,
    released_id: str,
    replaced: bool,
    keep_previous: int,
    retain_on_delete: bool,
) -> ReleasePlan:
    """What releasing ``released_id`` does to ``images`` (newest first).

    A replacement (``replaced``: a new image is baked first) retires the released
    image and deregisters retired images with more than ``keep_previous`` newer
    images; a destroy deregisters them all unless ``retain_on_delete``.
    """
    if not replaced:
        if retain_on_delete:
            return ReleasePlan(keep=tuple(images))
        return ReleasePlan(deregister=tuple(images))
    retire, deregister, keep = [], [], []
    # The new image is the newest of all, so every image has one more newer image.
    for newer, image in enumerate(images, start=1):
        if image.image_id != released_id and not image.retired:
            keep.append(image)  # another live image of the lineage (not ours to touch)
        elif newer > keep_previous:
            deregister.append(image)
        elif image.image_id == released_id:
            retire.append(image)
        else:
            keep.append(image)
    return ReleasePlan(tuple(retire), tuple(deregister), tuple(keep))
