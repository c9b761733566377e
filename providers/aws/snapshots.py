"""EBS snapshot sets of one bake: start them, find them again, wait, delete.

A set is started with one CreateSnapshots call (crash-consistent across the
instance's volumes) and tagged at creation with the bake id, so a retry finds it
by tag instead of starting another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.source_instance import SourceInstance
from providers.aws.waits import WAITS, Outcome, Pacing, WaitSpec, wait_for

Log = Callable[[str], None]
# Snapshots we may delete during cleanup: gone already, or still backing an image
# whose deregistration has not propagated (the next cleanup gets them).
_GONE = ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed")


def snapshot_volumes(
    ec2: Any, source: SourceInstance, snapshot_tags: Mapping[str, str], description: str
) -> dict[str, str]:
    """Start one crash-consistent snapshot set of every EBS volume of the instance.

    AWS calls: CreateSnapshots (tagged at creation).

    Returns:
        Volume id -> snapshot id.
    """
    response = ec2.create_snapshots(
        InstanceSpecification={"InstanceId": source.instance_id, "ExcludeBootVolume": False},
        Description=description,
        TagSpecifications=tags.spec("snapshot", snapshot_tags),
    )
    return {s["VolumeId"]: s["SnapshotId"] for s in response["Snapshots"]}


def find_snapshots(ec2: Any, key: str, value: str) -> list[dict[str, Any]]:
    """Every snapshot we own whose tag ``key`` is ``value``."""
    paginator = ec2.get_paginator("describe_snapshots")
    found: list[dict[str, Any]] = []
    for page in paginator.paginate(
        OwnerIds=["self"], Filters=[{"Name": f"tag:{key}", "Values": [value]}]
    ):
        found.extend(page["Snapshots"])
    return found


def complete_set(
    snapshots: Iterable[Mapping[str, Any]], volume_ids: frozenset[str]
) -> dict[str, str] | None:
    """The newest usable snapshot per volume, if every volume has one; else None."""
    newest: dict[str, Mapping[str, Any]] = {}
    for snap in snapshots:
        if snap.get("State") == "error" or snap["VolumeId"] not in volume_ids:
            continue
        seen = newest.get(snap["VolumeId"])
        if seen is None or snap["StartTime"] > seen["StartTime"]:
            newest[snap["VolumeId"]] = snap
    if set(newest) != set(volume_ids) or not volume_ids:
        return None
    return {vid: str(s["SnapshotId"]) for vid, s in newest.items()}


def wait_for_snapshots(
    ec2: Any,
    snapshot_ids: Iterable[str],
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> None:
    """Wait until every snapshot is completed, reporting overall progress.

    AWS calls: DescribeSnapshots (polls).
    """
    ids = sorted(snapshot_ids)
    waiter = WAITS["snapshots_completed"]

    def probe() -> tuple[Outcome, object]:
        snaps = ec2.describe_snapshots(SnapshotIds=ids)["Snapshots"]
        states = [s["State"] for s in snaps]
        done = sum(1 for s in states if s == "completed")
        percent = sum(int(str(s.get("Progress") or "0%").rstrip("%") or 0) for s in snaps)
        summary = f"{done}/{len(ids)} completed, {percent // max(len(ids), 1)}%"
        if len(snaps) < len(ids):
            return Outcome.RETRY, summary  # not yet visible (eventual consistency)
        return waiter.acceptors.classify(states), summary

    resource = f"snapshots {', '.join(ids)}"
    wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log)


def delete_snapshots(ec2: Any, snapshot_ids: Iterable[str]) -> list[str]:
    """Delete snapshots, treating already-gone ones as done.

    A snapshot AWS refuses to delete because an image still uses it
    (InvalidSnapshot.InUse: the image's deregistration has not propagated, or another
    image shares it) is tagged ``bakery:delete-pending`` so that the next run finds it by
    its lineage tag and retries (``retry_pending_snapshots``) instead of forgetting it.

    AWS calls: DeleteSnapshot (one per snapshot), CreateTags (refused ones).

    Returns:
        The ids still in use, left in place and tagged.
    """
    in_use = []
    for snapshot_id in sorted(set(snapshot_ids)):
        try:
            ec2.delete_snapshot(SnapshotId=snapshot_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                continue
            if code == "InvalidSnapshot.InUse":
                in_use.append(snapshot_id)
                continue
            raise
    if in_use:
        ec2.create_tags(
            Resources=in_use, Tags=tags.to_list({tags.DELETE_PENDING: tags.stamp(tags.utcnow())})
        )
    return in_use


def retry_pending_snapshots(ec2: Any, lineage: str) -> tuple[list[str], list[str]]:
    """Delete the lineage's snapshots an earlier run could not (``bakery:delete-pending``).

    AWS calls: DescribeSnapshots, DeleteSnapshot, CreateTags.

    Returns:
        (deleted now, still in use).
    """
    pending = [
        s["SnapshotId"]
        for s in find_snapshots(ec2, tags.LINEAGE, lineage)
        if tags.DELETE_PENDING in tags.to_dict(s.get("Tags"))
    ]
    in_use = delete_snapshots(ec2, pending) if pending else []
    return [s for s in pending if s not in in_use], in_use
