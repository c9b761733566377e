"""A lineage's images as a preview sees them: retired or not, in use or not, snapshots.

Read-only, for the PR preview report (scripts/pr_preview.py): the images a run
retires or deregisters that the Pulumi state does not hold (a replacement only
*retires* the old image, and the state then forgets it). ``release_plan`` applies the
rule ``retention.release_image`` follows (a replacement retires the image; of the
retired images nobody uses, the newest ``keep_previous`` stay and the others go; a
destroy removes every image nobody uses, unless ``retain_on_delete``) to that
listing, changing nothing. Who uses an image is ``image_use.image_uses``'s answer.

AWS pages relied on: DescribeImages, filter ``tag:<key>`` and ``Owners=self``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html);
the in-use reads are image_use.py's (all Describe calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.aws import tags
from providers.aws.images.amis import find_images, mapped_snapshot_ids
from providers.aws.images.use import NO_POLICY, UsePolicy, image_uses


@dataclass(frozen=True)
class LineageImage:
    """One registered image of a lineage."""

    image_id: str
    name: str
    baked_at: str
    retired: bool
    snapshot_count: int
    in_use: tuple[str, ...] = ()
    """Why it is still needed (image_use.image_uses); empty when nobody uses it."""


@dataclass(frozen=True)
class ReleasePlan:
    """What a run does to the lineage's images: retire some, deregister others."""

    retire: tuple[LineageImage, ...] = ()
    deregister: tuple[LineageImage, ...] = ()
    keep: tuple[LineageImage, ...] = ()
    """Retired images kept: in use, within ``keep_previous``, or ``retain_on_delete``."""


def _as_lineage_image(image: Mapping[str, Any], in_use: Sequence[str]) -> LineageImage:
    image_tags = tags.to_dict(image.get("Tags"))
    return LineageImage(
        image_id=str(image["ImageId"]),
        name=str(image.get("Name", "")),
        baked_at=image_tags.get(tags.BAKED_AT) or str(image.get("CreationDate", "")),
        retired=tags.RETIRED_AT in image_tags,
        snapshot_count=len(mapped_snapshot_ids(image)),
        in_use=tuple(in_use),
    )


def lineage_images(
    ec2: Any,
    autoscaling: Any,
    lineage: str,
    *,
    policy: UsePolicy = NO_POLICY,
    now: datetime | None = None,
) -> list[LineageImage]:
    """The lineage's registered images in this region (not its copies), newest first.

    AWS calls: DescribeImages (Owners=self, tag:bakery:lineage), then the in-use reads
    of ``image_uses``.
    """
    found = [
        i
        for i in find_images(ec2, tags.LINEAGE, lineage)
        if i.get("State") != "deregistered" and tags.COPY_OF not in tags.to_dict(i.get("Tags"))
    ]
    uses = image_uses(ec2, autoscaling, found, policy=policy, now=now)
    images = [_as_lineage_image(i, uses.get(i["ImageId"], ())) for i in found]
    return sorted(images, key=lambda i: i.baked_at, reverse=True)


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
    image; of the retired images (it included) nobody uses, the newest
    ``keep_previous`` stay and the rest are deregistered. A destroy deregisters every
    image nobody uses, unless ``retain_on_delete``. In-use images always stay.
    """
    if not replaced:
        if retain_on_delete:
            return ReleasePlan(keep=tuple(images))
        return ReleasePlan(
            deregister=tuple(i for i in images if not i.in_use),
            keep=tuple(i for i in images if i.in_use),
        )
    candidates = [i for i in images if i.retired or i.image_id == released_id]
    unused = [i for i in candidates if not i.in_use]
    deregister = unused[keep_previous:]
    keep = [i for i in candidates if i not in deregister and i.image_id != released_id]
    retire = [i for i in candidates if i.image_id == released_id and i not in deregister]
    return ReleasePlan(tuple(retire), tuple(deregister), tuple(keep))
