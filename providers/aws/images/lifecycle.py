"""An image's life after the bake: deprecation, deregistration protection, sharing, copies.

Each function brings one image to the wanted state and is idempotent, so create and
update share them, and a retry repeats them harmlessly. Pages relied on (EC2 API
reference): EnableImageDeprecation (a time in the future, at most 10 years ahead;
seconds round to the minute), EnableImageDeregistrationProtection (``WithCooldown``:
24 hours of protection after it is disabled), ModifyImageAttribute (launch permission
for accounts, organization and OU ARNs), ModifySnapshotAttribute (createVolumePermission
names accounts or the group ``all`` only: there is no organization or OU form, so
snapshots are shared with accounts only; an organization or OU that launches the image
needs no snapshot permission), CopyImage (run in the destination region;
``ClientToken`` makes a retry return the same copy; ``KmsKeyId`` with ``Encrypted``).
Deprecation does not stop launches by id (a rollback to a deprecated image works).

A copy that fails is removed before the error is raised (``CopyFailedError``): CopyImage
refused (EC2 API reference, "Error codes": ResourceLimitExceeded when too many copies
run, a destination Region taking 300 at once per the EC2 User Guide, "Copy an Amazon
EC2 AMI"; a KMS key the copy cannot use), the copy gone to ``failed`` (Image.State, with
its StateReason), its wait timed out, or a step after it (tags, deprecation, sharing)
refused. Deregistering stops a pending copy (same guide, "Stop a pending AMI copy
operation"), so no copy is left pending, failed or half shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from providers.aws import tags
from providers.aws.callbacks import Log
from providers.aws.errors import CopyFailedError, WaitError, WaitFailedError, WaitTimeoutError
from providers.aws.images.amis import (
    deregister_image,
    describe_image,
    find_images,
    lift_protection,
    mapped_snapshot_ids,
    wait_for_image,
)
from providers.aws.images.retention import Region, prune_images
from providers.aws.images.snapshots import delete_snapshots
from providers.aws.images.use import UsePolicy
from providers.aws.rules.lifecycle_plan import (
    HOME,
    Action,
    CopyTo,
    Protection,
    RemoveCopy,
    SetDeprecation,
    SetProtection,
    SetSharing,
    Sharing,
    TagSnapshots,
    deprecation_time,
)
from providers.aws.waits import Pacing

__all__ = [
    "CopyRequest",
    "Protection",
    "Sharing",
    "carry_out",
    "copy_image",
    "deprecation_time",
    "discard_copy",
    "set_deprecation",
    "set_protection",
    "set_sharing",
    "start_copy",
    "tag_snapshots",
]
_NO_VOLUME = (None, "", "vol-ffffffff")


def set_deprecation(ec2: Any, image_id: str, at: datetime | None) -> None:
    """Deprecate the image at ``at``, or cancel its deprecation (None).

    AWS calls: EnableImageDeprecation or DisableImageDeprecation.
    """
    if at is None:
        ec2.disable_image_deprecation(ImageId=image_id)
    else:
        ec2.enable_image_deprecation(ImageId=image_id, DeprecateAt=at)


def set_protection(ec2: Any, image: Mapping[str, Any], wanted: Protection) -> None:
    """Turn deregistration protection on (marked as Bakery's, so Bakery may lift it
    before a prune) or off (only if Bakery turned it on).

    AWS calls: EnableImageDeregistrationProtection + CreateTags, or
    DisableImageDeregistrationProtection + DeleteTags.
    """
    image_id = image["ImageId"]
    if wanted.enabled:
        ec2.enable_image_deregistration_protection(ImageId=image_id, WithCooldown=wanted.cooldown)
        mark = "with-cooldown" if wanted.cooldown else "on"
        ec2.create_tags(Resources=[image_id], Tags=[{"Key": tags.PROTECTED, "Value": mark}])
    elif tags.PROTECTED in tags.to_dict(image.get("Tags")):
        lift_protection(ec2, {**image, "DeregistrationProtection": "enabled"})
        ec2.delete_tags(Resources=[image_id], Tags=[{"Key": tags.PROTECTED}])


def _delta(old: Iterable[Any], new: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    olds, news = list(old), list(new)
    return [n for n in news if n not in olds], [o for o in olds if o not in news]


def set_sharing(
    ec2: Any, image_id: str, snapshot_ids: Sequence[str], old: Sharing, new: Sharing
) -> None:
    """Grant and revoke launch permissions (image) and createVolumePermission (snapshots,
    accounts only) so that exactly ``new`` is shared; ``old`` is what was shared before.

    AWS calls: ModifyImageAttribute, ModifySnapshotAttribute (one per snapshot and
    direction).
    """
    add, remove = _delta(old.permissions(), new.permissions())
    if add or remove:
        change: dict[str, Any] = {}
        if add:
            change["Add"] = add
        if remove:
            change["Remove"] = remove
        ec2.modify_image_attribute(ImageId=image_id, LaunchPermission=change)
    grant, revoke = _delta(old.accounts, new.accounts)
    for snapshot_id in snapshot_ids:
        for operation, accounts in (("add", grant), ("remove", revoke)):
            if accounts:
                ec2.modify_snapshot_attribute(
                    SnapshotId=snapshot_id,
                    Attribute="createVolumePermission",
                    OperationType=operation,
                    UserIds=accounts,
                )


def tag_snapshots(
    ec2: Any,
    snapshot_ids: Sequence[str],
    snapshot_tags: Mapping[str, str],
    *,
    old_tags: Mapping[str, str] | None = None,
) -> None:
    """Give the snapshots ``snapshot_tags`` plus the user tags of the volume each was
    taken from (``snapshot_tags`` win); drop keys of ``old_tags`` no longer wanted.

    AWS calls: DescribeSnapshots, DescribeVolumes, CreateTags, DeleteTags.
    """
    if not snapshot_ids:
        return
    snaps = ec2.describe_snapshots(SnapshotIds=list(snapshot_ids))["Snapshots"]
    # A snapshot not taken from a volume of this account reports vol-ffffffff.
    volume_ids = sorted({s["VolumeId"] for s in snaps if s.get("VolumeId") not in _NO_VOLUME})
    volume_tags: dict[str, dict[str, str]] = {}
    if volume_ids:
        paginator = ec2.get_paginator("describe_volumes")
        for page in paginator.paginate(Filters=[{"Name": "volume-id", "Values": volume_ids}]):
            for volume in page["Volumes"]:
                volume_tags[volume["VolumeId"]] = tags.user_tags(tags.to_dict(volume.get("Tags")))
    gone = [k for k in (old_tags or {}) if k not in snapshot_tags]
    if gone:
        ec2.delete_tags(Resources=list(snapshot_ids), Tags=[{"Key": k} for k in sorted(gone)])
    for snap in snaps:
        wanted = {**volume_tags.get(snap.get("VolumeId", ""), {}), **snapshot_tags}
        if wanted:
            ec2.create_tags(Resources=[snap["SnapshotId"]], Tags=tags.to_list(wanted))


@dataclass(frozen=True)
class CopyRequest:
    """One regional copy of a baked image."""

    source_image_id: str
    source_region: str
    name: str
    description: str
    bake_id: str
    image_tags: Mapping[str, str] = field(default_factory=dict)
    kms_key_id: str | None = None


def copy_image(
    ec2: Any, req: CopyRequest, *, pacing: Pacing | None = None, log: Log | None = None
) -> str:
    """Copy the image into ``ec2``'s region, or adopt the copy an earlier run made, and
    wait until it is available (``start_copy``, then the wait).

    AWS calls: those of ``start_copy``, then DescribeImages (polls).

    Returns:
        The copy's image id.
    """
    image_id = start_copy(ec2, req)
    wait_for_image(ec2, image_id, pacing=pacing or Pacing(), log=log)
    return image_id


def start_copy(ec2: Any, req: CopyRequest) -> str:
    """Start the copy into ``ec2``'s region, or adopt the one an earlier run started.

    The copy carries the source's tags plus ``bakery:copy-of`` (so retention removes it
    with its source).

    AWS calls: DescribeImages, CopyImage (destination region), CreateTags.

    Returns:
        The copy's image id (pending until the copy is done).
    """
    found = [
        i
        for i in _copies_of(ec2, req)
        if i.get("State") not in ("failed", "error", "invalid", "deregistered")
    ]
    if found:
        image_id = str(found[0]["ImageId"])
    else:
        params: dict[str, Any] = {
            "Name": req.name,
            "Description": req.description,
            "SourceImageId": req.source_image_id,
            "SourceRegion": req.source_region,
            "ClientToken": f"bakery-{req.bake_id}-{req.source_image_id}"[:64],
            "TagSpecifications": tags.spec("image", _copy_tags(req)),
        }
        if req.kms_key_id:
            params.update(Encrypted=True, KmsKeyId=req.kms_key_id)
        image_id = str(ec2.copy_image(**params)["ImageId"])
    # Again explicitly: tags at creation are the spec, this repairs what a fake dropped.
    ec2.create_tags(Resources=[image_id], Tags=tags.to_list(_copy_tags(req)))
    return image_id


def _copy_tags(req: CopyRequest) -> dict[str, str]:
    return {**req.image_tags, tags.BAKE_ID: req.bake_id, tags.COPY_OF: req.source_image_id}


def _copies_of(ec2: Any, req: CopyRequest) -> list[dict[str, Any]]:
    """The images of this bake in ``ec2``'s region copied from the request's source."""
    return [
        i
        for i in find_images(ec2, tags.BAKE_ID, req.bake_id)
        if tags.to_dict(i.get("Tags")).get(tags.COPY_OF) == req.source_image_id
    ]


def discard_copy(ec2: Any, req: CopyRequest, copy_id: str | None = None) -> list[str]:
    """Remove a failed copy from its region: every image of this bake copied from the
    source (``copy_id``, and any a refused or repeated CopyImage made), with their
    snapshots. Deregistering a pending copy stops it (EC2 User Guide, "Copy an Amazon
    EC2 AMI", "Stop a pending AMI copy operation").

    The snapshots a copy made are its mapped ones, plus those whose description names
    the copy (AWS describes them "Copied for DestinationAmi ami-…"), which a ``failed``
    copy may no longer map.

    AWS calls: DescribeImages, DescribeSnapshots, DisableImageDeregistrationProtection
    (Bakery's own), DeregisterImage, DeleteSnapshot, CreateTags (a snapshot in use).

    Returns:
        The ids AWS would not remove (a protected image, snapshots in use); [] when
        nothing of the copy is left.
    """
    images = {str(i["ImageId"]): i for i in _copies_of(ec2, req)}
    if copy_id and copy_id not in images:
        image = describe_image(ec2, copy_id)
        if image is not None:
            images[copy_id] = image
    left: list[str] = []
    for image_id, image in sorted(images.items()):
        done = deregister_image(ec2, image)
        if not done.deregistered:
            left.append(image_id)
            continue
        left += done.snapshots_in_use
        described = ec2.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "description", "Values": [f"*{image_id}*"]}]
        )["Snapshots"]
        gone = {*done.snapshots_deleted, *done.snapshots_in_use}
        left += delete_snapshots(
            ec2, [s["SnapshotId"] for s in described if s["SnapshotId"] not in gone]
        )
    return sorted(set(left))


@dataclass(frozen=True)
class CopySource:
    """What a copy is made from: the baked image as described once, and its bake."""

    image: Mapping[str, Any]
    region: str
    bake_id: str
    name: str
    description: str

    def request(self, kms_key_id: str | None) -> CopyRequest:
        # Retention marks are per image: a copy starts unretired and unprotected.
        kept = {
            k: v
            for k, v in tags.to_dict(self.image.get("Tags")).items()
            if k not in (tags.RETIRED_AT, tags.PROTECTED) and not k.startswith(tags.HELD_BY)
        }
        return CopyRequest(
            source_image_id=str(self.image["ImageId"]),
            source_region=self.region,
            name=str(self.image.get("Name") or self.name),
            description=str(self.image.get("Description") or self.description or ""),
            bake_id=self.bake_id,
            image_tags=kept,
            kms_key_id=kms_key_id,
        )


def carry_out(
    actions: Sequence[Action],
    *,
    regions: Callable[[str], Region],
    source: CopySource,
    snapshot_ids: Sequence[str],
    copies_made: Mapping[str, str],
    policy: UsePolicy,
    log: Log,
    pacing: Pacing | None = None,
) -> dict[str, str]:
    """Carry out a lifecycle plan (``rules/lifecycle_plan.py``), action by action, in order.

    The baked image was described once by the caller (``source.image``); a copy is
    described only when an action needs its snapshots or its protection mark.

    Args:
        actions: the plan.
        regions: the clients of a region (``HOME`` for the image's own region).
        source: the baked image and its bake, for copies.
        snapshot_ids: the baked image's snapshots (from its bake).
        copies_made: region -> copy id of the copies made before this run.
        policy: the in-use rules that keep a copy a plan removes.

    Returns:
        region -> copy image id, after the plan (copies made, copies removed).
    """
    copies = dict(copies_made)
    described: dict[str, Mapping[str, Any] | None] = {HOME: source.image}
    # The region whose new copy is being made and settled: a failure there removes the
    # copy before it is raised. Copies finished (made, tagged, shared) in other regions
    # stay: each is whole, tagged with the bake id, adopted by the next `pulumi up` of
    # the same bake (no copy is made twice) and removed with its source by retention;
    # removing them would throw away hours of copying for one region's quota or key.
    making: tuple[str, CopyRequest] | None = None
    for action in actions:
        if making is not None and action.region != making[0]:
            making = None
        if isinstance(action, CopyTo):
            making = (action.region, source.request(action.kms_key_id))
        try:
            _carry_out_one(
                action,
                regions,
                source,
                snapshot_ids,
                copies,
                described,
                policy,
                log,
                pacing,
                making,
            )
        except (ClientError, BotoCoreError, WaitError) as exc:
            if making is None:
                raise
            region, req = making
            raise _copy_failed(
                regions(region).ec2, region, req, copies.get(region), exc, log
            ) from exc
    return copies


def _carry_out_one(
    action: Action,
    regions: Callable[[str], Region],
    source: CopySource,
    snapshot_ids: Sequence[str],
    copies: dict[str, str],
    described: dict[str, Mapping[str, Any] | None],
    policy: UsePolicy,
    log: Log,
    pacing: Pacing | None,
    making: tuple[str, CopyRequest] | None,
) -> None:
    """One action of ``carry_out``; ``copies`` and ``described`` are updated in place."""

    def image_in(region: str) -> Mapping[str, Any] | None:
        if region not in described:
            described[region] = describe_image(regions(region).ec2, copies[region])
        return described[region]

    def image_id_in(region: str) -> str:
        return str(source.image["ImageId"]) if region == HOME else copies[region]

    ec2 = regions(action.region).ec2
    if isinstance(action, TagSnapshots):
        tag_snapshots(ec2, snapshot_ids, action.tags, old_tags=action.old_tags)
    elif isinstance(action, SetDeprecation):
        set_deprecation(ec2, image_id_in(action.region), action.at)
    elif isinstance(action, SetProtection):
        image = image_in(action.region)
        if image is not None:
            set_protection(ec2, image, action.wanted)
    elif isinstance(action, SetSharing):
        image = image_in(action.region) if action.old.accounts or action.new.accounts else None
        snapshots = mapped_snapshot_ids(image) if image else []
        set_sharing(ec2, image_id_in(action.region), snapshots, action.old, action.new)
    elif isinstance(action, CopyTo):
        assert making is not None
        copied = start_copy(ec2, making[1])
        copies[action.region] = copied  # known before the wait, so a failure can remove it
        wait_for_image(ec2, copied, pacing=pacing or Pacing(), log=log)
        log(f"copied {source.image['ImageId']} to {action.region} as {copied}")
    elif isinstance(action, RemoveCopy):
        _remove_copy(regions(action.region), action, policy, log)
        copies.pop(action.region, None)
        described.pop(action.region, None)


def _copy_failed(
    ec2: Any,
    region: str,
    req: CopyRequest,
    copy_id: str | None,
    exc: BaseException,
    log: Log,
) -> CopyFailedError:
    """Remove what the failed copy made in ``region``; the error that says so."""
    reason, code = _failure_reason(ec2, copy_id, exc)
    log(f"copy of {req.source_image_id} to {region} failed ({reason}); removing it there")
    left = discard_copy(ec2, req, copy_id)
    return CopyFailedError(
        region, req.source_image_id, reason, code=code, copy_id=copy_id or "", left=left
    )


def _failure_reason(ec2: Any, copy_id: str | None, exc: BaseException) -> tuple[str, str]:
    """What went wrong, and AWS's code for it ("" when it gave none)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        return f"{exc.operation_name} refused ({code}: {error.get('Message', '')})", code
    if isinstance(exc, WaitFailedError) and copy_id:
        image = describe_image(ec2, copy_id) or {}
        why = image.get("StateReason") or {}
        code = str(why.get("Code") or "")
        state = image.get("State") or exc.state
        said = f" ({code}: {why.get('Message', '')})" if code else ""
        return f"the copy {copy_id} went {state}{said}", code
    if isinstance(exc, WaitTimeoutError):
        return f"the copy {copy_id} was still {exc.state} after {exc.elapsed_s:.0f}s", ""
    return str(exc), ""


def _remove_copy(where: Region, action: RemoveCopy, policy: UsePolicy, log: Log) -> None:
    report = prune_images(
        where.ec2, where.autoscaling, [action.image_id], policy=policy, region=action.region
    )
    for kept in report.kept:
        log(str(kept))
    if report.deregistered:
        log(f"removed the copy {action.image_id} in {action.region}")
