"""The steps of one bake, in order, each probing AWS first (``BakeRun``).

``BakeRun.run`` runs these steps in order. Each first asks AWS whether it is already
done (tags, states), so a run resumed after a crash takes the same path as a first
run and simply finds steps done:

1. inspect  DescribeInstances, DescribeImages: the instance can be imaged; an image of
            this bake id is adopted; a name held by another image is refused before
            anything changes; leftovers of abandoned bakes of the lineage go (images
            that failed their verify among them).
   patch    (``patch`` asked, no image yet) AWS-RunPatchBaseline while the instance
            serves, and its reboot waited out (cycle.py).
2. hold     (stop, reboot) the stop note on the instance (``instance_hold``): done when
            the note is this bake's; another bake's note is waited out.
   prepare  (``prepare`` asked) the owner's clean-up: in stop mode before the stop,
            else just before CreateImage.
3. stop     (stop) StopInstances, wait stopped: done when stopped.
4. image    CreateImage (NoReboot unless ``reboot``), image and snapshots tagged at
            creation: done when an image of the bake id exists; a retry that gets
            InvalidAMIName.Duplicate adopts the image if it is this bake's.
5. restart  (stop) as soon as every EBS volume has a snapshot of the image (not when
            the image is available): StartInstances, retried while EC2 refuses, wait
            running: done when in the state to restore.
   restore  (``restore`` asked) the owner's commands after the restart (live: after
            CreateImage); after a failure too once prepare was sent.
6. release  DeleteTags of the note, right after the restart, so another bake of the
            instance need not wait for this image: done when the note is not ours.
7. wait     until the image is available (looks timed from snapshot progress).
8. verify   PlatformDetails / UsageOperation of the image equal the instance's
            (billing: a Windows or RHEL image must keep it); on a mismatch the image
            is deregistered and the bake fails loudly.
9. boot     (``verify`` asked) one test instance from the image must pass its status
            checks (and the verify command) before the image is tagged verified and
            handed on; else it is tagged verify-failed and the bake fails.

On any failure while the bake holds the instance, it is put back in the state it was
found in, then released. CreateSnapshots + RegisterImage is gone: RegisterImage loses
billing, Secure Boot (UefiData) and NitroTPM, and the RegisterImage reference says to
use CreateImage unless there is a specific reason; none applies to a golden instance.
"""

from __future__ import annotations

from typing import Any

from providers.aws import tags
from providers.aws.bake.cycle import Cycle
from providers.aws.bake.instance_hold import hold_instance, release_instance
from providers.aws.bake.preflight import wait_for_pending_volume_snapshots
from providers.aws.bake.request import BakedImageInfo, BakeRequest, image_info, own_image
from providers.aws.bake.source_instance import (
    SourceInstance,
    StateChange,
    change_state,
    current_state,
    inspect_instance,
    restore_instance,
    settle_instance,
)
from providers.aws.callbacks import Log, Now
from providers.aws.errors import (
    ImageMismatchError,
    ImageNameTakenError,
    InstanceNotRestoredError,
    InvalidInputError,
)
from providers.aws.images.amis import (
    billing_of,
    create_image_tagged,
    deregister_image,
    describe_image,
    find_images,
    image_snapshot_ids,
    mapped_snapshot_ids,
    tag_image,
    tag_listed_snapshots,
    wait_for_image,
)
from providers.aws.images.snapshots import delete_snapshots, find_snapshots
from providers.aws.wait_table import WAITS
from providers.aws.waits import Outcome, Pacing, wait_for

# Image states that will never become available: artifacts of a failed bake.
_DEAD_IMAGE_STATES = frozenset({"pending", "failed", "error", "invalid"})


def _discard_abandoned(ec2: Any, req: BakeRequest, log: Log) -> list[dict[str, Any]]:
    """Remove what failed bakes of this lineage left: dead images, unused snapshots.

    Returns:
        The lineage's images as listed (their tags hold the instance's history).
    """
    kept_bakes = {req.bake_id}
    lineage = find_images(ec2, tags.LINEAGE, req.lineage)
    for image in lineage:
        bake = tags.to_dict(image.get("Tags")).get(tags.BAKE_ID, "")
        dead = image.get("State") in _DEAD_IMAGE_STATES or tags.VERIFY_FAILED in tags.to_dict(
            image.get("Tags")
        )
        if dead and bake != req.bake_id:
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
    return lineage


# Tag -> state: the stop's last look that still saw it stopping, the start's look that
# saw it running (seconds after the request): the next bake's first near look.
_TIMINGS = {tags.STOP_S: "stopped", tags.START_S: "running"}


def instance_timings(images: list[dict[str, Any]]) -> dict[str, float]:
    """How long the source instance's last stop and start were seen under way (seconds,
    by wanted state), from the newest image of the lineage that recorded them
    (``timing_tags``): the next bake's near looks begin there (``wait_table``: AWS
    documents no duration for either)."""
    newest: tuple[str, dict[str, str]] = ("", {})
    for image in images:
        image_tags = tags.to_dict(image.get("Tags"))
        baked_at = image_tags.get(tags.BAKED_AT) or str(image.get("CreationDate", ""))
        if _TIMINGS.keys() & image_tags.keys() and baked_at >= newest[0]:
            newest = (baked_at, image_tags)
    timings: dict[str, float] = {}
    for key, state in _TIMINGS.items():
        try:
            timings[state] = float(newest[1][key])
        except (KeyError, ValueError):  # not recorded, or edited by hand
            continue
    return timings


def timing_tags(took: dict[str, StateChange], expected: dict[str, float]) -> dict[str, str]:
    """What this bake saw of the instance's stop and start, for ``instance_timings``.

    A stop already done at the first look timed from the last one (``expected``) was
    faster than that by an unknown amount: nothing is recorded, so the next bake learns
    it afresh rather than look late.
    """
    found: dict[str, str] = {}
    stop = took.get("stopped")
    # (The tag is rounded to 0.01 s: the first near look is at most that before it.)
    if stop is not None and stop.under_way_s > max(expected.get("stopped", 0.0) - 0.01, 0.0):
        found[tags.STOP_S] = f"{stop.under_way_s:.2f}"
    if "running" in took:
        found[tags.START_S] = f"{took['running'].done_s:.2f}"
    return found


def _artifact_tags(req: BakeRequest, baked_at: str) -> dict[str, str]:
    return {
        **req.tags,
        tags.BAKE_ID: req.bake_id,
        tags.LINEAGE: req.lineage,
        tags.SOURCE_INSTANCE: req.instance_id,
        tags.BAKED_AT: baked_at,
    }


class BakeRun:
    """One run of one bake: the steps of the module docstring, over what AWS shows."""

    def __init__(
        self,
        ec2: Any,
        req: BakeRequest,
        pacing: Pacing,
        log: Log,
        now: Now,
        ssm: Any = None,
    ) -> None:
        self.ec2, self.req, self.pacing, self.log, self.now = ec2, req, pacing, log, now
        self.cycle = Cycle(ec2, ssm, req, pacing, log, now)
        self.source: SourceInstance
        self.image: dict[str, Any] | None = None
        self.image_id = ""
        self.created_at: float | None = None
        self.held = False
        self.restore_to = "running"
        self.held_state = ""  # the instance's state when the hold was confirmed
        self.down_since: float | None = None
        self.downtime = 0.0
        # The instance's history (``instance_timings``) and this bake's, by state.
        self.expected: dict[str, float] = {}
        self.took: dict[str, StateChange] = {}
        # Snapshot tags an endpoint refused at CreateImage, to be set once listed.
        self.untagged: dict[str, str] = {}

    def run(self) -> BakedImageInfo:
        self.inspect()
        if self.image is None:
            self.cycle.patch()  # the instance serves while it is patched
        try:
            self.hold()
            if self.image is None and self.req.consistency == "stop":
                self.cycle.prepare()  # before the stop: the commands need it running
            self.stop()
            if self.image is None and self.req.consistency != "stop":
                self.cycle.prepare()  # just before CreateImage
            self.create()
            self.restart()
        except InstanceNotRestoredError:
            raise  # the restore itself failed: keep the note, it says what to restore
        except BaseException:
            if self.held:
                self.put_back()
            self.cycle.restore_after_failure()
            raise
        try:
            self.cycle.restore()
        finally:
            self.release()
        self.wait()
        info = self.verify()
        self.boot(info)
        return info

    # 1. inspect
    def inspect(self) -> None:
        req = self.req
        self.source = inspect_instance(self.ec2, req.instance_id)
        self.image = own_image(self.ec2, req)
        self.source = settle_instance(
            self.ec2, self.source, pacing=self.pacing, spec=req.spec("instance_settled")
        )
        if self.image is None:
            self.expected = instance_timings(_discard_abandoned(self.ec2, req, self.log))
        else:
            self.image_id = str(self.image["ImageId"])
            self.log(f"adopting image {self.image_id} of this bake")
            if not find_snapshots(self.ec2, tags.BAKE_ID, req.bake_id):
                # An interrupted run of the fallback below: its snapshots still untagged.
                self.untagged = tags.to_dict(self.image.get("Tags"))

    # 2. hold
    def hold(self) -> None:
        note_is_ours = self.source.tags.get(tags.STOPPED_BY) == self.req.bake_id
        needs_hold = self.image is None and self.req.consistency != "live"
        if not (needs_hold or note_is_ours):
            self.restore_to = self.source.state
            return
        self.held = True
        hold = hold_instance(
            self.ec2,
            self.req.instance_id,
            self.req.bake_id,
            restore_state=self.source.state,
            hold_s=self.req.hold_s,
            pacing=self.pacing,
            now=self.now,
            log=self.log,
        )
        self.restore_to, self.held_state = hold.restore_state, hold.state

    # 3. stop
    def stop(self) -> None:
        if self.image is not None or self.req.consistency != "stop":
            return
        # The hold's read-back is the state now, unless prepare commands ran since.
        state = self.held_state
        if not state or self.cycle.prepare_sent:
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
        self.took["stopped"] = change_state(
            self.ec2,
            self.req.instance_id,
            "stopped",
            pacing=self.pacing,
            spec=self.req.spec("instance_stopped"),
            log=self.log,
            under_way_s=self.expected.get("stopped"),
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
            created = create_image_tagged(
                self.ec2,
                req.instance_id,
                name=req.name,
                description=req.description,
                no_reboot=req.consistency != "reboot",
                image_tags=artifact_tags,
                snapshot_tags=artifact_tags,
            )
            self.image_id = created.image_id
            if not created.snapshots_tagged:
                self.untagged = artifact_tags
                self.log(
                    "this endpoint cannot tag snapshots at CreateImage (a local AWS such as "
                    "LocalStack or moto): the snapshots are tagged as soon as they are listed"
                )
            verb = "rebooting it" if req.consistency == "reboot" else "NoReboot"
            self.log(f"creating image {self.image_id} of {req.instance_id} ({verb})")
        except ImageNameTakenError:
            # Another run of this bake got there first (a killed `pulumi up` leaves its
            # provider host baking): AWS refused the duplicate name. Adopt its image.
            raced = own_image(self.ec2, req)  # raises again if the name is not this bake's
            if raced is None:
                raise
            self.image, self.image_id = raced, str(raced["ImageId"])
            self.log(f"adopting image {self.image_id} created by another run of this bake")

    # 5. restart
    def restart(self) -> None:
        req = self.req
        if not self.held:
            return
        if self.untagged:
            self.tag_snapshots()  # listed in the image: they exist, so they have started
        elif req.consistency != "live":
            volumes = [req.bake_id, *self.source.volume_ids]
            started = WAITS["image_snapshots_started"]
            wait_for(
                started,
                started.probe(self.ec2, volumes),
                resource=f"snapshots of {self.image_id}",
                pacing=self.pacing,
                spec=req.spec("image_snapshots_started"),
                log=self.log,
                under_way_s=0.0,  # at once after CreateImage, then each second
            )
        wanted = self.restore_to if req.restore_state else "stopped"
        starting = f"every volume has a snapshot; starting {req.instance_id} (image pending)"
        self.put_back(wanted, starting=starting)
        if self.down_since is not None:
            self.downtime = self.pacing.clock() - self.down_since
        elif req.consistency == "reboot" and self.created_at is not None:
            self.downtime = self.pacing.clock() - self.created_at  # until snapshots started

    def put_back(self, wanted: str | None = None, starting: str = "") -> None:
        took = restore_instance(
            self.ec2,
            self.req.instance_id,
            wanted or self.restore_to,
            pacing=self.pacing,
            spec=self.req.spec("instance_running"),
            log=self.log,
            under_way_s=self.expected.get("running"),
            starting=starting,
        )
        if took is not None:
            self.took["running"] = took
        if wanted is None:  # after a failure: let go too (the note is not needed now)
            release_instance(self.ec2, self.req.instance_id, self.req.bake_id)

    # 6. release
    def release(self) -> None:
        if self.held:
            release_instance(self.ec2, self.req.instance_id, self.req.bake_id)

    def tag_snapshots(self) -> None:
        """Tag the image's snapshots once its mappings list them (snapshot tags refused
        at creation); ``wait_for`` with the cadence of the snapshots-started wait."""
        wanted, snapshot_tags = len(self.source.volume_ids), self.untagged

        def probe() -> tuple[Outcome, object]:
            listed = tag_listed_snapshots(self.ec2, self.image_id, wanted, snapshot_tags)
            if listed is None:
                return Outcome.RETRY, "snapshots not listed yet"
            return Outcome.SUCCESS, f"{len(listed)} snapshot(s) tagged"

        wait_for(
            WAITS["image_snapshots_started"],
            probe,
            resource=f"snapshots of {self.image_id}",
            pacing=self.pacing,
            spec=self.req.spec("image_snapshots_started"),
            log=self.log,
            under_way_s=0.0,
        )
        self.untagged = {}

    # 7. wait
    def wait(self) -> None:
        if self.untagged:  # not held (consistency live): tag them before the long wait
            self.tag_snapshots()
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
            measured = {
                tags.DOWNTIME_S: f"{self.downtime:.1f}",
                **timing_tags(self.took, self.expected),
            }
            tag_image(self.ec2, self.image_id, keep, measured)
            image = {**image, "Tags": [*image.get("Tags", []), *tags.to_list(measured)]}
        _drop_stray_snapshots(self.ec2, self.req.bake_id, keep)
        return image_info(self.ec2, image)

    # 9. boot
    def boot(self, info: BakedImageInfo) -> None:
        """The test boot (``verify`` asked): a failure leaves the image tagged
        ``bakery:verify-failed`` and fails the bake, so it is never handed on."""
        if self.req.verify is None:
            return
        self.cycle.clean_up()
        image = describe_image(self.ec2, info.image_id) or {"ImageId": info.image_id}
        self.cycle.boot(image, list(info.snapshot_ids), self.source.instance_type)


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
