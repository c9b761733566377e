"""EBS snapshots of one bake: find them by tag, delete them.

CreateImage makes them (one per EBS volume of the instance) and tags them at
creation with the bake id (its ``snapshot`` TagSpecification), so a retry, the
restart gate and cleanup all find them by that tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags

# Snapshots we may delete during cleanup: gone already, or still backing an image
# whose deregistration has not propagated (the next cleanup gets them).
_GONE = ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed")


def find_snapshots(ec2: Any, key: str, value: str) -> list[dict[str, Any]]:
    """Every snapshot we own whose tag ``key`` is ``value``."""
    paginator = ec2.get_paginator("describe_snapshots")
    found: list[dict[str, Any]] = []
    for page in paginator.paginate(
        OwnerIds=["self"], Filters=[{"Name": f"tag:{key}", "Values": [value]}]
    ):
        found.extend(page["Snapshots"])
    return found


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
