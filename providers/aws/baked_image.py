"""The bake workflow: golden instance -> AMI, resumable, and the image's life after.

``bake_image`` runs, in order (each step adopts what an interrupted run left):

1. DescribeInstances/DescribeVolumes/DescribeImages: inspect the instance; refuse a
   name another image holds, before anything is touched.
2. Find an image or a complete snapshot set of this bake id; discard partial
   artifacts of abandoned bakes of the same lineage.
3. CreateTags + StopInstances (a note on the instance says what to restore), then
   one CreateSnapshots set tagged at creation.
4. StartInstances *as soon as the snapshots have started*: a snapshot is
   point-in-time when it starts, so downtime is stop + start, not the copy.
5. Wait for the snapshots, RegisterImage (mappings mirror the instance, tags at
   registration; if another run of this bake registered first, adopt its image),
   CreateTags (again, explicitly), wait until available.

On any failure the instance is put back in the state it was found in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.aws import tags
from providers.aws.errors import ImageNameTakenError, InvalidInputError
from providers.aws.images import (
    deregister_image,
    describe_image,
    find_image_by_name,
    find_images,
    image_snapshot_ids,
    mapped_snapshot_ids,
    register_image,
    tag_image,
    untag_image,
    wait_for_image,
)
from providers.aws.snapshots import (
    complete_set,
    delete_snapshots,
    find_snapshots,
    snapshot_volumes,
    wait_for_snapshots,
)
from providers.aws.source_instance import (
    SourceInstance,
    inspect_instance,
    restore_instance,
    settle_instance,
    state_to_restore,
    stop_instance,
)
from providers.aws.waits import WAITS, Pacing, WaitSpec

Log = Callable[[str], None]
Now = Callable[[], datetime]

# Image states that will never become available: artifacts of a failed bake.
_DEAD_IMAGE_STATES = frozenset({"pending", "failed", "error", "invalid"})
# A bake's timeouts (minutes, by user-facing key) map onto these waiters.
TIMEOUT_WAITERS = {
    "instance": ("instance_stopped", "instance_running", "instance_settled"),
    "snapshots": ("snapshots_completed",),
    "image": ("image_available",),
}


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class BakeRequest:
    """Everything one bake needs; built by the adapter from validated props."""

    instance_id: str
    name: str
    bake_id: str
    lineage: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    stop_instance: bool = True
    restore_state: bool = True
    timeouts_min: Mapping[str, float] = field(default_factory=dict)

    def spec(self, waiter_name: str) -> WaitSpec:
        """The waiter's cadence with the user's deadline, if one was given."""
        spec = WAITS[waiter_name].spec
        for key, waiters in TIMEOUT_WAITERS.items():
            if waiter_name in waiters and key in self.timeouts_min:
                return spec.with_deadline(float(self.timeouts_min[key]) * 60.0)
        return spec


@dataclass(frozen=True)
class BakedImageInfo:
    """A baked image as outputs and ``read`` report it."""

    image_id: str
    name: str
    state: str
    snapshot_ids: tuple[str, ...]
    root_device_name: str
    architecture: str
    source_instance_id: str
    created_at: str
    downtime_seconds: float
    description: str
    bake_id: str
    lineage: str
    user_tags: dict[str, str]


def bake_id_for(lineage: str, bake_inputs: Mapping[str, Any], previous: str | None) -> str:
    """A deterministic id for one bake: same inputs and history, same id.

    ``previous`` (the bake id being replaced) makes a re-bake to inputs seen
    before (triggers A -> B -> A) a new bake rather than an adoption of A.
    """
    blob = json.dumps([lineage, bake_inputs, previous or ""], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _info(ec2: Any, image: Mapping[str, Any]) -> BakedImageInfo:
    image_tags = tags.to_dict(image.get("Tags"))
    mappings = image.get("BlockDeviceMappings", [])
    return BakedImageInfo(
        image_id=image["ImageId"],
        name=image.get("Name", ""),
        state=image.get("State", ""),
        snapshot_ids=tuple(image_snapshot_ids(ec2, image)),
        root_device_name=image.get("RootDeviceName")
        or (mappings[0]["DeviceName"] if mappings else ""),
        architecture=image.get("Architecture", ""),
        source_instance_id=image_tags.get(tags.SOURCE_INSTANCE, ""),
        created_at=image_tags.get(tags.BAKED_AT) or image.get("CreationDate", ""),
        downtime_seconds=float(image_tags.get(tags.DOWNTIME_S) or 0.0),
        description=image.get("Description", ""),
        bake_id=image_tags.get(tags.BAKE_ID, ""),
        lineage=image_tags.get(tags.LINEAGE, ""),
        user_tags=tags.user_tags(image_tags),
    )


def describe_baked_image(ec2: Any, image_id: str) -> BakedImageInfo | None:
    """The image as Bakery reports it, or None if it is gone.

    AWS calls: DescribeImages, DescribeSnapshots.
    """
    image = describe_image(ec2, image_id)
    return _info(ec2, image) if image else None


def _own_image(ec2: Any, req: BakeRequest) -> dict[str, Any] | None:
    """An image of this bake id (adopt it), checking the name is not someone else's.

    Raises:
        ImageNameTakenError: the name belongs to an image of another bake.
    """
    mine = [
        i for i in find_images(ec2, tags.BAKE_ID, req.bake_id) if i.get("State") != "deregistered"
    ]
    if mine:
        return max(mine, key=lambda i: i.get("CreationDate", ""))
    named = find_image_by_name(ec2, req.name)
    if named is not None:
        raise ImageNameTakenError(req.name, named["ImageId"])
    return None


def check_bake(ec2: Any, req: BakeRequest) -> list[InvalidInputError]:
    """Read-only checks against AWS for ``check``/preview: nothing is changed.

    AWS calls: DescribeInstances, DescribeVolumes, DescribeImages.
    """
    problems: list[InvalidInputError] = []
    try:
        inspect_instance(ec2, req.instance_id)
    except InvalidInputError as exc:
        problems.append(exc)
    try:
        _own_image(ec2, req)
    except ImageNameTakenError as exc:
        problems.append(exc)
    return problems


def _discard_abandoned(ec2: Any, req: BakeRequest, log: Log) -> None:
    """Remove what failed bakes of this lineage left: dead images, unused snapshots."""
    kept_bakes = {req.bake_id}
    for image in find_images(ec2, tags.LINEAGE, req.lineage):
        bake = tags.to_dict(image.get("Tags")).get(tags.BAKE_ID, "")
        if image.get("State") in _DEAD_IMAGE_STATES and bake != req.bake_id:
            log(f"removing image {image['ImageId']} of abandoned bake {bake}")
            deregister_image(ec2, image)
        else:
            kept_bakes.add(bake)
    orphans = [
        s["SnapshotId"]
        for s in find_snapshots(ec2, tags.LINEAGE, req.lineage)
        if tags.to_dict(s.get("Tags")).get(tags.BAKE_ID) not in kept_bakes
    ]
    if orphans:
        log(f"removing {len(orphans)} snapshot(s) of abandoned bakes")
        delete_snapshots(ec2, orphans)


def _snapshot_tags(req: BakeRequest) -> dict[str, str]:
    return {
        **req.tags,
        tags.BAKE_ID: req.bake_id,
        tags.LINEAGE: req.lineage,
        tags.SOURCE_INSTANCE: req.instance_id,
    }


def _take_snapshots(
    ec2: Any, req: BakeRequest, source: SourceInstance, restore_to: str, pacing: Pacing, log: Log
) -> tuple[dict[str, str], float]:
    """Stop (if asked), start the snapshot set, and put the instance back at once.

    Returns:
        The snapshot set and how long the instance was not running.
    """
    stopped_at: float | None = None
    must_restore = source.held_by is not None
    try:
        if req.stop_instance and source.state != "stopped":
            log(f"stopping {source.instance_id}")
            stopped_at = pacing.clock()
            must_restore = True
            stop_instance(
                ec2,
                source,
                req.bake_id,
                restore_state=restore_to,
                pacing=pacing,
                spec=req.spec("instance_stopped"),
                log=log,
            )
        snapshots = snapshot_volumes(
            ec2,
            source,
            _snapshot_tags(req),
            f"Bakery {req.lineage} bake {req.bake_id} of {source.instance_id}",
        )
        log(f"started snapshots {', '.join(sorted(snapshots.values()))}")
    except BaseException:
        if must_restore:
            restore_instance(
                ec2,
                source.instance_id,
                restore_to,
                pacing=pacing,
                spec=req.spec("instance_running"),
            )
        raise
    if must_restore:
        wanted = restore_to if req.restore_state else "stopped"
        log(f"snapshots started; returning {source.instance_id} to {wanted}")
        restore_instance(
            ec2,
            source.instance_id,
            wanted,
            pacing=pacing,
            spec=req.spec("instance_running"),
            log=log,
        )
    downtime = pacing.clock() - stopped_at if stopped_at is not None else 0.0
    return snapshots, downtime


def bake_image(
    ec2: Any,
    req: BakeRequest,
    *,
    pacing: Pacing | None = None,
    log: Log = _quiet,
    now: Now = tags.utcnow,
) -> BakedImageInfo:
    """Bake the instance into an AMI, adopting whatever an earlier run of this bake left.

    See the module docstring for the AWS calls in order.

    Raises:
        InstanceUnsuitableError, ImageNameTakenError: before anything is changed.
        WaitError: a wait failed or timed out (the instance is restored first).
        InstanceNotRestoredError: the instance could not be put back (loud on purpose).
    """
    pacing = pacing or Pacing()
    source = inspect_instance(ec2, req.instance_id)
    image = _own_image(ec2, req)
    source = settle_instance(ec2, source, pacing=pacing, spec=req.spec("instance_settled"))
    restore_to = state_to_restore(source)
    downtime = 0.0

    if image is not None:
        log(f"adopting image {image['ImageId']} of this bake")
        if source.held_by:
            restore_instance(ec2, req.instance_id, restore_to, pacing=pacing, log=log)
        image_id, snapshot_ids, baked_at, downtime = _adopted(ec2, image, tags.stamp(now()), 0.0)
    else:
        _discard_abandoned(ec2, req, log)
        mine = find_snapshots(ec2, tags.BAKE_ID, req.bake_id)
        snapshots = complete_set(mine, source.volume_ids)
        if snapshots is None:
            if mine:
                delete_snapshots(ec2, [s["SnapshotId"] for s in mine])
            snapshots, downtime = _take_snapshots(ec2, req, source, restore_to, pacing, log)
        else:
            log(f"adopting snapshots {', '.join(sorted(snapshots.values()))} of this bake")
            if source.held_by:
                restore_instance(ec2, req.instance_id, restore_to, pacing=pacing, log=log)
        wait_for_snapshots(
            ec2, snapshots.values(), pacing=pacing, spec=req.spec("snapshots_completed"), log=log
        )
        snapshot_ids = sorted(snapshots.values())
        baked_at = tags.stamp(now())
        try:
            image_id = register_image(
                ec2,
                source,
                snapshots,
                name=req.name,
                description=req.description,
                image_tags=_image_tags(req, baked_at, downtime),
            )
            log(f"registered image {image_id}")
        except ImageNameTakenError:
            # Another run of this bake got there first (a killed `pulumi up` leaves its
            # provider host baking): AWS refused the duplicate name. Adopt its image.
            raced = _own_image(ec2, req)  # raises again if the name is not this bake's
            if raced is None:
                raise
            log(f"adopting image {raced['ImageId']} registered by another run of this bake")
            image_id, snapshot_ids, baked_at, downtime = _adopted(ec2, raced, baked_at, downtime)

    tag_image(ec2, image_id, snapshot_ids, _image_tags(req, baked_at, downtime))
    wait_for_image(ec2, image_id, pacing=pacing, spec=req.spec("image_available"), log=log)
    _drop_stray_snapshots(ec2, req.bake_id, keep=snapshot_ids)
    info = describe_baked_image(ec2, image_id)
    if info is None:  # deregistered out of band between two calls: report, do not hide
        raise InvalidInputError("image_id", image_id, "the new image vanished; run pulumi up again")
    return info


def _image_tags(req: BakeRequest, baked_at: str, downtime_s: float) -> dict[str, str]:
    return {
        **_snapshot_tags(req),
        tags.BAKED_AT: baked_at,
        tags.DOWNTIME_S: f"{downtime_s:.1f}",
    }


def _adopted(
    ec2: Any, image: Mapping[str, Any], baked_at: str, downtime_s: float
) -> tuple[str, list[str], str, float]:
    """An image of this bake made by an earlier run: its id, the snapshots it is made of
    (others of its bake are strays of a racing run), and its baked-at and downtime tags
    (``baked_at``/``downtime_s`` where it has none)."""
    image_tags = tags.to_dict(image.get("Tags"))
    return (
        str(image["ImageId"]),
        mapped_snapshot_ids(image) or image_snapshot_ids(ec2, image),
        image_tags.get(tags.BAKED_AT) or baked_at,
        float(image_tags.get(tags.DOWNTIME_S) or downtime_s),
    )


def _drop_stray_snapshots(ec2: Any, bake_id: str, keep: list[str]) -> None:
    """Delete snapshots of this bake that its image does not use (a racing retry's)."""
    kept = set(keep)
    stray = [
        s["SnapshotId"]
        for s in find_snapshots(ec2, tags.BAKE_ID, bake_id)
        if s["SnapshotId"] not in kept
    ]
    if stray:
        delete_snapshots(ec2, stray)


def update_baked_image(
    ec2: Any,
    image_id: str,
    *,
    old_tags: Mapping[str, str],
    new_tags: Mapping[str, str],
    old_description: str,
    new_description: str,
) -> None:
    """Change what AWS can change in place: user tags and the description.

    AWS calls: DescribeImages, DescribeSnapshots, CreateTags, DeleteTags,
    ModifyImageAttribute.
    """
    image = describe_image(ec2, image_id)
    if image is None:
        raise InvalidInputError("image_id", image_id, "the image is gone; run pulumi refresh")
    snapshot_ids = image_snapshot_ids(ec2, image)
    untag_image(ec2, image_id, snapshot_ids, [k for k in old_tags if k not in new_tags])
    if dict(new_tags):
        tag_image(ec2, image_id, snapshot_ids, new_tags)
    if new_description != old_description:
        ec2.modify_image_attribute(ImageId=image_id, Description={"Value": new_description})
