"""Retention: what happens to a baked image when Pulumi lets go of it.

A replacement retires the old image (kept registered for rollback, tagged
``bakery:retired-at``) and prunes retired images beyond ``keep_previous``; a destroy
removes the whole lineage unless ``retain_on_delete``. Nothing is pruned while it is
in use (``providers/aws/images/use.py``): an image in use stays, tagged retired, is
reported with the reason, and is pruned by the first later run that finds it unused.
``keep_previous`` counts only images nobody uses. Regional copies (``bakery:copy-of``)
go with their source, under the same guard in their own region. Snapshots AWS refused
to delete (InvalidSnapshot.InUse) are retried on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.aws import tags
from providers.aws.callbacks import Log, Now
from providers.aws.images.amis import (
    Deregistration,
    deregister_image,
    describe_image,
    find_images,
    image_snapshot_ids,
)
from providers.aws.images.snapshots import delete_snapshots, retry_pending_snapshots
from providers.aws.images.use import NO_POLICY, UsePolicy, image_uses


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Kept:
    """An image retention wanted to prune but kept, and why."""

    image_id: str
    reasons: tuple[str, ...]
    region: str = ""

    def __str__(self) -> str:
        where = f" in {self.region}" if self.region else ""
        return f"kept {self.image_id}{where} : {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class ReleaseReport:
    """What ``release_image`` did, for the log and for tests."""

    retired: tuple[str, ...] = ()
    deregistered: tuple[str, ...] = ()
    retained: tuple[str, ...] = ()
    kept: tuple[Kept, ...] = ()
    snapshots_deleted: tuple[str, ...] = ()
    snapshots_in_use: tuple[str, ...] = ()


@dataclass
class _Tally:
    deregistered: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    in_use: list[str] = field(default_factory=list)

    def add(self, done: Deregistration, region: str = "") -> None:
        if done.protected:
            why = (
                f"deregistration protection is {done.protected}; a later run prunes it "
                "once the protection is off (Bakery lifts only its own)"
            )
            self.kept.append(Kept(done.image_id, (why,), region))
            return
        self.deregistered.append(done.image_id)
        self.deleted += done.snapshots_deleted
        self.in_use += done.snapshots_in_use


@dataclass(frozen=True)
class Region:
    """Clients of one region that holds copies of the lineage (named for the IAM scan)."""

    ec2: Any
    autoscaling: Any


def _baked_at(image: Mapping[str, Any]) -> str:
    return tags.to_dict(image.get("Tags")).get(tags.BAKED_AT) or image.get("CreationDate", "")


def _in_use(reasons: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"in use by {r}" for r in reasons)


def _retire(ec2: Any, image: Mapping[str, Any], now: Now) -> dict[str, Any]:
    """Tag the image retired (once); returns it with the tag."""
    if tags.RETIRED_AT in tags.to_dict(image.get("Tags")):
        return dict(image)
    retired_tag = tags.to_list({tags.RETIRED_AT: tags.stamp(now())})
    ec2.create_tags(Resources=[image["ImageId"]], Tags=retired_tag)
    return {**image, "Tags": [*image.get("Tags", []), *retired_tag]}


def _prune(
    ec2: Any,
    autoscaling: Any,
    images: Sequence[Mapping[str, Any]],
    *,
    policy: UsePolicy,
    now: Now,
    tally: _Tally,
    region: str = "",
    uses: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """Deregister the unused images (and their snapshots); keep, retire and report the rest.

    Returns:
        The ids deregistered.
    """
    if uses is None:
        uses = image_uses(ec2, autoscaling, images, policy=policy, now=now())
    removed = []
    for image in images:
        reasons = uses.get(image["ImageId"], [])
        if reasons:
            _retire(ec2, image, now)
            tally.kept.append(Kept(image["ImageId"], _in_use(reasons), region))
            continue
        done = deregister_image(ec2, image)
        tally.add(done, region)
        if done.deregistered:
            removed.append(image["ImageId"])
    return removed


def _prune_copies(
    ec2: Any,
    autoscaling: Any,
    region: str,
    *,
    lineage: str,
    sources_left: set[str],
    policy: UsePolicy,
    now: Now,
    tally: _Tally,
) -> None:
    """Remove the lineage's copies in ``region`` whose source image is gone."""
    orphans = [
        i
        for i in find_images(ec2, tags.LINEAGE, lineage)
        if tags.to_dict(i.get("Tags")).get(tags.COPY_OF) not in sources_left
    ]
    if orphans:
        _prune(ec2, autoscaling, orphans, policy=policy, now=now, tally=tally, region=region)
    done, in_use = retry_pending_snapshots(ec2, lineage)
    tally.deleted += done
    tally.in_use += in_use


def prune_images(
    ec2: Any,
    autoscaling: Any,
    image_ids: Sequence[str],
    *,
    policy: UsePolicy = NO_POLICY,
    region: str = "",
    now: Now = tags.utcnow,
) -> ReleaseReport:
    """Remove these images (a copy no longer wanted) unless in use; gone ones are skipped.

    AWS calls: DescribeImages, the in-use reads, DeregisterImage, DeleteSnapshot.
    """
    tally = _Tally()
    images = [i for i in (describe_image(ec2, image_id) for image_id in image_ids) if i]
    if images:
        _prune(ec2, autoscaling, images, policy=policy, now=now, tally=tally, region=region)
    return ReleaseReport(
        deregistered=tuple(tally.deregistered),
        kept=tuple(tally.kept),
        snapshots_deleted=tuple(tally.deleted),
        snapshots_in_use=tuple(tally.in_use),
    )


def plan_lines(
    ec2: Any,
    images: Sequence[Mapping[str, Any]],
    uses: Mapping[str, Sequence[str]],
    *,
    in_state: str,
    region: str = "",
) -> list[str]:
    """What a destroy will remove and keep, one line per image (for the log)."""
    where = f" in {region}" if region else ""
    lines = []
    for image in sorted(images, key=_baked_at):
        image_id = image["ImageId"]
        if uses.get(image_id):
            lines.append(str(Kept(image_id, _in_use(uses[image_id]), region)))
            continue
        note = "" if image_id == in_state or not in_state else " (retired, not in the Pulumi state)"
        snaps = ", ".join(image_snapshot_ids(ec2, image)) or "no snapshots"
        lines.append(f"will remove {image_id}{where}{note} and snapshots {snaps}")
    return lines


def _copy_plan(
    ec2: Any, autoscaling: Any, region: str, lineage: str, policy: UsePolicy, now: Now
) -> list[str]:
    """The destroy plan for the lineage's copies in one region."""
    found = find_images(ec2, tags.LINEAGE, lineage)
    uses = image_uses(ec2, autoscaling, found, policy=policy, now=now())
    return plan_lines(ec2, found, uses, in_state="", region=region)


def release_image(
    ec2: Any,
    autoscaling: Any,
    image_id: str,
    *,
    lineage: str,
    snapshot_ids: list[str],
    keep_previous: int,
    retain_on_delete: bool,
    policy: UsePolicy = NO_POLICY,
    copies: Mapping[str, Region] | None = None,
    log: Log = _quiet,
    now: Now = tags.utcnow,
) -> ReleaseReport:
    """Let go of an image Pulumi deletes: retire it on a replacement, remove it on destroy.

    A replacement (a newer image of the lineage exists) keeps the image registered,
    tagged ``bakery:retired-at``; of the retired images nobody uses, the newest
    ``keep_previous`` stay and the rest are pruned with their snapshots. A destroy (no
    newer image) first logs every image and snapshot it will remove (retired ones
    no longer in the Pulumi state too) and every image it keeps because in use, then
    removes the lineage, unless ``retain_on_delete``. Copies in ``copies`` regions
    follow their source.

    AWS calls: DescribeImages, CreateTags, the in-use reads of ``image_uses``,
    DisableImageDeregistrationProtection, DeregisterImage, DescribeSnapshots,
    DeleteSnapshot; the same per copy region.
    """
    tally = _Tally()
    lineage_images = [
        i
        for i in find_images(ec2, tags.LINEAGE, lineage)
        if tags.COPY_OF not in tags.to_dict(i.get("Tags"))
    ]
    target = next((i for i in lineage_images if i["ImageId"] == image_id), None)
    if target is None:
        target = describe_image(ec2, image_id)
    retired: tuple[str, ...] = ()
    logged: set[str] = set()
    if target is None:
        # Already gone (deregistered out of band): clean up what it left.
        tally.in_use += delete_snapshots(ec2, snapshot_ids)
    elif not [i for i in lineage_images if _baked_at(i) > _baked_at(target)]:
        if retain_on_delete:
            return ReleaseReport(retained=tuple(i["ImageId"] for i in lineage_images))
        everything = list({i["ImageId"]: i for i in [*lineage_images, target]}.values())
        uses = image_uses(ec2, autoscaling, everything, policy=policy, now=now())
        for line in plan_lines(ec2, everything, uses, in_state=image_id):
            log(line)
        for region, clients in sorted((copies or {}).items()):
            for line in _copy_plan(clients.ec2, clients.autoscaling, region, lineage, policy, now):
                log(line)
        _prune(ec2, autoscaling, everything, policy=policy, now=now, tally=tally, uses=uses)
        logged = {i for i, why in uses.items() if why}
        keep = {k.image_id for k in tally.kept}
        ours = {s for i in everything if i["ImageId"] in keep for s in image_snapshot_ids(ec2, i)}
        tally.in_use += delete_snapshots(ec2, [s for s in snapshot_ids if s not in ours])
    else:
        target = _retire(ec2, target, now)
        by_id = {**{i["ImageId"]: i for i in lineage_images}, image_id: target}
        candidates = sorted(
            (i for i in by_id.values() if tags.RETIRED_AT in tags.to_dict(i.get("Tags"))),
            key=_baked_at,
            reverse=True,
        )
        uses = image_uses(ec2, autoscaling, candidates, policy=policy, now=now())
        for image in candidates:
            if uses[image["ImageId"]]:
                tally.kept.append(Kept(image["ImageId"], _in_use(uses[image["ImageId"]])))
        unused = [i for i in candidates if not uses[i["ImageId"]]]
        for image in unused[keep_previous:]:
            tally.add(deregister_image(ec2, image))
        retired = (image_id,) if image_id not in tally.deregistered else ()
    done, in_use = retry_pending_snapshots(ec2, lineage)
    tally.deleted += done
    tally.in_use += in_use
    sources_left = {i["ImageId"] for i in lineage_images if i["ImageId"] not in tally.deregistered}
    if target is not None and image_id not in tally.deregistered:
        sources_left.add(image_id)
    for region, clients in sorted((copies or {}).items()):
        _prune_copies(
            clients.ec2,
            clients.autoscaling,
            region,
            lineage=lineage,
            sources_left=sources_left,
            policy=policy,
            now=now,
            tally=tally,
        )
    for kept in tally.kept:
        if kept.image_id not in logged:
            log(str(kept))
    return ReleaseReport(
        retired=retired,
        deregistered=tuple(tally.deregistered),
        kept=tuple(tally.kept),
        snapshots_deleted=tuple(dict.fromkeys(tally.deleted)),
        snapshots_in_use=tuple(dict.fromkeys(tally.in_use)),
    )
