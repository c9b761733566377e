"""The bake workflow: golden instance -> AMI with EC2's own CreateImage, resumable.

``bake_image`` runs these steps in order. Each first asks AWS whether it is already
done (tags, states), so a run resumed after a crash takes the same path as a first
run and simply finds steps done:

1. inspect  DescribeInstances, DescribeImages: the instance can be imaged; an image of
            this bake id is adopted; a name held by another image is refused before
            anything changes; leftovers of abandoned bakes of the lineage go.
2. hold     (stop, reboot) the stop note on the instance (``instance_hold``): done when
            the note is this bake's; another bake's note is waited out.
3. stop     (stop) StopInstances, wait stopped: done when stopped.
4. image    CreateImage (NoReboot unless ``reboot``), image and snapshots tagged at
            creation: done when an image of the bake id exists; a retry that gets
            InvalidAMIName.Duplicate adopts the image if it is this bake's.
5. restart  (stop) as soon as every EBS volume has a snapshot of the image (not when
            the image is available): StartInstances, retried while EC2 refuses, wait
            running: done when in the state to restore.
6. release  DeleteTags of the note, right after the restart, so another bake of the
            instance need not wait for this image: done when the note is not ours.
7. wait     until the image is available (looks timed from snapshot progress).
8. verify   PlatformDetails / UsageOperation of the image equal the instance's
            (billing: a Windows or RHEL image must keep it); on a mismatch the image
            is deregistered and the bake fails loudly.

On any failure while the bake holds the instance, it is put back in the state it was
found in, then released. CreateSnapshots + RegisterImage is gone: RegisterImage loses
billing, Secure Boot (UefiData) and NitroTPM, and the RegisterImage reference says to
use CreateImage unless there is a specific reason; none applies to a golden instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.aws import tags
from providers.aws.bake_plan import bake_id_for
from providers.aws.bake_waits import BAKE_WAITS, TIMEOUT_WAITERS
from providers.aws.errors import (
    ImageMismatchError,
    ImageNameTakenError,
    InstanceNotRestoredError,
    InvalidInputError,
)
from providers.aws.images import (
    billing_of,
    create_image,
    deregister_image,
    describe_image,
    find_image_by_name,
    find_images,
    image_snapshot_ids,
    mapped_snapshot_ids,
    tag_image,
    untag_image,
    wait_for_image,
)
from providers.aws.instance_hold import hold_instance, release_instance
from providers.aws.preflight import wait_for_pending_volume_snapshots
from providers.aws.snapshots import delete_snapshots, find_snapshots
from providers.aws.source_instance import (
    START_RETRY,
    SourceInstance,
    current_state,
    inspect_instance,
    restore_instance,
    settle_instance,
    stop_instance,
)
from providers.aws.waits import WAITS, Pacing, WaitSpec, default_pacing, poll_until

__all__ = ["BakeRequest", "BakedImageInfo", "bake_id_for", "bake_image", "check_bake"]

Log = Callable[[str], None]
Now = Callable[[], datetime]

# Image states that will never become available: artifacts of a failed bake.
_DEAD_IMAGE_STATES = frozenset({"pending", "failed", "error", "invalid"})


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
    consistency: str = "stop"
    restore_state: bool = True
    timeouts_min: Mapping[str, float] = field(default_factory=dict)

    def spec(self, waiter_name: str) -> WaitSpec:
        """The waiter's cadence with the user's deadline, if one was given."""
        spec = BAKE_WAITS[waiter_name].spec
        if waiter_name == "image_available":  # the image is done when its snapshots are
            given = [k for k in ("snapshots", "image") if k in self.timeouts_min]
            if given:
                minutes = float(self.timeouts_min.get("snapshots", 480.0))
                return spec.with_deadline(
                    (minutes + float(self.timeouts_min.get("image", 120.0))) * 60.0
                )
            return spec
        for key, waiters in TIMEOUT_WAITERS.items():
            if waiter_name in waiters and key in self.timeouts_min:
                return spec.with_deadline(float(self.timeouts_min[key]) * 60.0)
        return spec

    @property
    def hold_s(self) -> float:
        """How long this bake may hold the instance: stop, snapshots, start (and retries)."""
        parts = ("instance_stopped", "image_snapshots_started", "instance_running")
        others = WAITS["volume_snapshots_idle"].spec.deadline_s  # pre-stop wait
        return sum(self.spec(p).deadline_s for p in parts) + START_RETRY.deadline_s + others


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

    AWS calls: DescribeInstances, DescribeImages.
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


def _artifact_tags(req: BakeRequest, baked_at: str) -> dict[str, str]:
    return {
        **req.tags,
        tags.BAKE_ID: req.bake_id,
        tags.LINEAGE: req.lineage,
        tags.SOURCE_INSTANCE: req.instance_id,
        tags.BAKED_AT: baked_at,
    }


class _Bake:
    """One run of one bake: the steps of the module docstring, over what AWS shows."""

    def __init__(self, ec2: Any, req: BakeRequest, pacing: Pacing, log: Log, now: Now) -> None:
        self.ec2, self.req, self.pacing, self.log, self.now = ec2, req, pacing, log, now
        self.source: SourceInstance
        self.image: dict[str, Any] | None = None
        self.image_id = ""
        self.created_at: float | None = None
        self.held = False
        self.restore_to = "running"
        self.down_since: float | None = None
        self.downtime = 0.0

    def run(self) -> BakedImageInfo:
        self.inspect()
        try:
            self.hold()
            self.stop()
            self.create()
            self.restart()
        except InstanceNotRestoredError:
            raise  # the restore itself failed: keep the note, it says what to restore
        except BaseException:
            if self.held:
                self.put_back()
            raise
        self.release()
        self.wait()
        return self.verify()

    # 1. inspect
    def inspect(self) -> None:
        req = self.req
        self.source = inspect_instance(self.ec2, req.instance_id)
        self.image = _own_image(self.ec2, req)
        self.source = settle_instance(
            self.ec2, self.source, pacing=self.pacing, spec=req.spec("instance_settled")
        )
        if self.image is None:
            _discard_abandoned(self.ec2, req, self.log)
        else:
            self.image_id = str(self.image["ImageId"])
            self.log(f"adopting image {self.image_id} of this bake")

    # 2. hold
    def hold(self) -> None:
        note_is_ours = self.source.tags.get(tags.STOPPED_BY) == self.req.bake_id
        needs_hold = self.image is None and self.req.consistency != "live"
        if not (needs_hold or note_is_ours):
            self.restore_to = self.source.state
            return
        self.held = True
        self.restore_to = hold_instance(
            self.ec2,
            self.req.instance_id,
            self.req.bake_id,
            restore_state=self.source.state,
            hold_s=self.req.hold_s,
            pacing=self.pacing,
            now=self.now,
            log=self.log,
        )

    # 3. stop
    def stop(self) -> None:
        if self.image is not None or self.req.consistency != "stop":
            return
        state = current_state(self.ec2, self.req.instance_id)
        if state == "stopped":
            return
        # EBS allows few pending snapshots per volume: a stop followed by
        # ConcurrentSnapshotLimitExceeded would be a needless outage.
        wait_for_pending_volume_snapshots(
            self.ec2, self.source.volume_ids, pacing=self.pacing, log=self.log
        )
        self.log(f"stopping {self.req.instance_id} (consistency: stop)")
        self.down_since = self.pacing.clock()
        stop_instance(
            self.ec2,
            self.req.instance_id,
            pacing=self.pacing,
            spec=self.req.spec("instance_stopped"),
            log=self.log,
        )

    # 4. image
    def create(self) -> None:
        if self.image is not None:
            return
        req = self.req
        baked_at = tags.stamp(self.now())
        artifact_tags = _artifact_tags(req, baked_at)
        self.created_at = self.pacing.clock()
        try:
            self.image_id = create_image(
                self.ec2,
                req.instance_id,
                name=req.name,
                description=req.description,
                no_reboot=req.consistency != "reboot",
                image_tags=artifact_tags,
                snapshot_tags=artifact_tags,
            )
            verb = "rebooting it" if req.consistency == "reboot" else "NoReboot"
            self.log(f"creating image {self.image_id} of {req.instance_id} ({verb})")
        except ImageNameTakenError:
            # Another run of this bake got there first (a killed `pulumi up` leaves its
            # provider host baking): AWS refused the duplicate name. Adopt its image.
            raced = _own_image(self.ec2, req)  # raises again if the name is not this bake's
            if raced is None:
                raise
            self.image, self.image_id = raced, str(raced["ImageId"])
            self.log(f"adopting image {self.image_id} created by another run of this bake")

    # 5. restart
    def restart(self) -> None:
        req = self.req
        if not self.held:
            return
        if req.consistency != "live":
            volumes = [req.bake_id, *self.source.volume_ids]
            poll_until(
                self.ec2,
                BAKE_WAITS["image_snapshots_started"],
                volumes,
                resource=f"snapshots of {self.image_id}",
                pacing=self.pacing,
                spec=req.spec("image_snapshots_started"),
                log=self.log,
            )
        wanted = self.restore_to if req.restore_state else "stopped"
        if wanted == "running" and current_state(self.ec2, req.instance_id) != "running":
            self.log(f"every volume has a snapshot; starting {req.instance_id} (image pending)")
        self.put_back(wanted)
        if self.down_since is not None:
            self.downtime = self.pacing.clock() - self.down_since
        elif req.consistency == "reboot" and self.created_at is not None:
            self.downtime = self.pacing.clock() - self.created_at  # until snapshots started

    def put_back(self, wanted: str | None = None) -> None:
        restore_instance(
            self.ec2,
            self.req.instance_id,
            wanted or self.restore_to,
            pacing=self.pacing,
            spec=self.req.spec("instance_running"),
            log=self.log,
        )
        if wanted is None:  # after a failure: let go too (the note is not needed now)
            release_instance(self.ec2, self.req.instance_id, self.req.bake_id)

    # 6. release
    def release(self) -> None:
        if self.held:
            release_instance(self.ec2, self.req.instance_id, self.req.bake_id)

    # 7. wait
    def wait(self) -> None:
        wait_for_image(
            self.ec2,
            self.image_id,
            self.req.bake_id,
            pacing=self.pacing,
            spec=self.req.spec("image_available"),
            log=self.log,
            origin=self.created_at,
        )

    # 8. verify
    def verify(self) -> BakedImageInfo:
        image = describe_image(self.ec2, self.image_id)
        if image is None:  # deregistered out of band between two calls: report, do not hide
            raise InvalidInputError(
                "image_id", self.image_id, "the new image vanished; run pulumi up again"
            )
        wanted = billing_of(
            {
                "PlatformDetails": self.source.platform_details,
                "UsageOperation": self.source.usage_operation,
            }
        )
        found = billing_of(image)
        if wanted != (None, None) and found != wanted:
            deregister_image(self.ec2, image)
            raise ImageMismatchError(self.image_id, self.req.instance_id, str(found), str(wanted))
        keep = mapped_snapshot_ids(image) or image_snapshot_ids(self.ec2, image)
        if tags.DOWNTIME_S not in tags.to_dict(image.get("Tags")):
            downtime = {tags.DOWNTIME_S: f"{self.downtime:.1f}"}
            tag_image(self.ec2, self.image_id, keep, downtime)
            image = {**image, "Tags": [*image.get("Tags", []), *tags.to_list(downtime)]}
        _drop_stray_snapshots(self.ec2, self.req.bake_id, keep)
        return _info(self.ec2, image)


def bake_image(
    ec2: Any,
    req: BakeRequest,
    *,
    pacing: Pacing | None = None,
    log: Log = _quiet,
    now: Now = tags.utcnow,
) -> BakedImageInfo:
    """Bake the instance into an AMI, resuming whatever an earlier run of this bake did.

    See the module docstring for the steps and their AWS calls.

    Raises:
        InstanceUnsuitableError, ImageNameTakenError: before anything is changed.
        InstanceStillHeldError: another bake kept the instance past its deadline.
        WaitError: a wait failed or timed out (the instance is restored first).
        InstanceNotRestoredError: the instance could not be put back (loud on purpose).
        ImageMismatchError: the image lost the instance's billing (it is deregistered).
    """
    return _Bake(ec2, req, pacing or default_pacing(), log, now).run()


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
