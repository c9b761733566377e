"""Pre-flight for a bake: every golden-instance hazard, found at check with read-only calls.

``preflight_bake`` reads the instance, its type, its Auto Scaling membership and its
volumes' snapshots, and returns one problem per hazard (a ``CheckFailure`` each at
preview) and notes for what is not an error. Nothing is stopped, tagged or created.
Each rule, with the AWS page it stands on (read 2026-12):

- Auto Scaling member, consistency "stop": the group marks a stopped member unhealthy
  and replaces it (terminates it) mid-bake. Instances in Standby are not health-checked.
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-enter-exit-standby.html
- Instance-store volumes, "stop": every block is erased on stop or hibernate; a reboot
  keeps the data (unless ``allow_instance_store_loss``). InstanceStorageSupported and
  InstanceStorageInfo come from DescribeInstanceTypes.
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-store-lifetime.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html
- Stop protection (DisableApiStop), "stop": StopInstances is refused.
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html#Using_StopProtection
- Spot (InstanceLifecycle "spot"), "stop": a one-time request's instance cannot be
  stopped at all (UnsupportedOperation); a persistent request's can, but its start then
  waits for Spot capacity in the same zone and type. Both are refused (the safe side;
  telling them apart needs DescribeSpotInstanceRequests, and neither is a safe stop).
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances-request.html
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/interruption-behavior.html
- Mac (mac*.metal), "stop": ~15 minutes in ``stopping``, then the Dedicated Host scrubs
  for up to 50 minutes (x86) or hours (Apple silicon) before the instance can start.
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/mac-instance-stop.html
- Hibernated (stopped with StateReason ``Client.UserInitiatedHibernate``), any mode: an
  AMI of a hibernated instance may not be reachable; start it and stop it normally.
  Hibernation merely enabled is a note (AWS gives the same warning, softer).
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-hibernate-limitations.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StateReason.html
- Pending snapshots on its volumes: not an error. EBS allows few pending snapshots per
  volume, so the bake waits for them (``wait_for_pending_volume_snapshots``) before it
  stops anything; stopping first and then failing ConcurrentSnapshotLimitExceeded is a
  needless outage.
- Another bake's stop note (``bakery:stopped-by`` naming another bake id, with
  ``bakery:held-until`` in the future): refused, as create would wait for it
  (providers/aws/bake/instance_hold.py, the one rule). A stale note (past its held-until, or
  written by a Bakery without one) is taken over by create; the check says so.

The stop hazards apply only when the bake will stop the instance, i.e. "stop" on a
running (or starting) instance; a stopped instance is imaged as it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.aws import tags
from providers.aws.bake.instance_hold import Note, note_of
from providers.aws.bake.source_instance import describe_instance
from providers.aws.callbacks import Log, Now
from providers.aws.concurrent_reads import read_all
from providers.aws.errors import (
    InstanceHazardError,
    InstanceHeldError,
    InvalidInputError,
)
from providers.aws.wait_table import WAITS
from providers.aws.waits import Pacing, WaitSpec, wait_for

# States in which a "stop" bake would call StopInstances.
_WILL_STOP_STATES = frozenset({"running", "pending"})
HIBERNATED = "Client.UserInitiatedHibernate"
ASG_TAG = "aws:autoscaling:groupName"
# Lifecycle states in which Auto Scaling does not health-check (or no longer owns) it.
_ASG_SAFE_STATES = ("Standby", "Detaching", "Detached")


@dataclass(frozen=True)
class PreflightRequest:
    """What the pre-flight needs to know about one bake."""

    instance_id: str
    bake_id: str
    consistency: str = "stop"
    allow_instance_store_loss: bool = False


@dataclass(frozen=True)
class PreflightReport:
    """Hazards (one per problem), notes (said, not refused) and the plan line."""

    problems: tuple[InvalidInputError, ...] = ()
    notes: tuple[str, ...] = ()
    plan: str = ""
    pending_snapshot_ids: tuple[str, ...] = field(default=())


def plan_line(instance_id: str, state: str, consistency: str) -> str:
    """What the bake will do to the instance, for the preview (``will stop i-…``)."""
    if state not in _WILL_STOP_STATES:
        return f"will image {instance_id} as it is ({state}; consistency: {consistency})"
    if consistency == "stop":
        return f"will stop {instance_id} (consistency: stop)"
    if consistency == "reboot":
        return f"will reboot {instance_id} (consistency: reboot)"
    return f"will image {instance_id} while it runs (consistency: {consistency})"


def _group_of(autoscaling: Any, instance: Mapping[str, Any]) -> tuple[str, str] | None:
    """The Auto Scaling group that health-checks the instance, and its lifecycle state."""
    listed = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance["InstanceId"]])
    for member in listed.get("AutoScalingInstances", []):
        state = str(member.get("LifecycleState", ""))
        if not state.startswith(_ASG_SAFE_STATES):
            return str(member["AutoScalingGroupName"]), state
        return None
    # Not listed but tagged: the docs do not say the tag outlives membership, so trust
    # the tag (the safe side: refuse at preview rather than lose the instance at up).
    group = tags.to_dict(instance.get("Tags")).get(ASG_TAG)
    return (group, "tagged") if group else None


def _instance_storage(ec2: Any, instance_type: str) -> int | None:
    """Total instance-store GB of the type, or None if it has none."""
    info = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    if not info or not info[0].get("InstanceStorageSupported"):
        return None
    return int(info[0].get("InstanceStorageInfo", {}).get("TotalSizeInGB") or 0)


def _stop_protected(ec2: Any, instance_id: str) -> bool:
    attr = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiStop")
    return bool(attr.get("DisableApiStop", {}).get("Value"))


def _pending_snapshots(ec2: Any, volume_ids: Collection[str]) -> list[dict[str, Any]]:
    if not volume_ids:
        return []
    paginator = ec2.get_paginator("describe_snapshots")
    found: list[dict[str, Any]] = []
    for page in paginator.paginate(
        OwnerIds=["self"],
        Filters=[
            {"Name": "volume-id", "Values": sorted(volume_ids)},
            {"Name": "status", "Values": ["pending"]},
        ],
    ):
        found.extend(page["Snapshots"])
    return found


def _volume_ids(instance: Mapping[str, Any]) -> list[str]:
    return [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]


@dataclass(frozen=True)
class _StopFacts:
    """What AWS says about the instance that decides whether a stop is safe."""

    group: tuple[str, str] | None  # its Auto Scaling group and lifecycle state
    storage_gb: int | None  # its type's instance-store GB (None: it has none)
    stop_protected: bool


def _read_stop_facts(ec2: Any, autoscaling: Any, instance: Mapping[str, Any]) -> _StopFacts:
    """The three reads behind ``_StopFacts``, made at once (``concurrent_reads``)."""
    itype = str(instance.get("InstanceType", ""))
    group, storage_gb, protected = read_all(
        lambda: _group_of(autoscaling, instance),
        lambda: _instance_storage(ec2, itype) if itype else None,
        lambda: _stop_protected(ec2, str(instance["InstanceId"])),
    )
    return _StopFacts(group, storage_gb, protected)


def _stop_hazards(
    req: PreflightRequest, instance: Mapping[str, Any], facts: _StopFacts
) -> list[InvalidInputError]:
    """What a StopInstances of this instance would break; one problem each."""
    iid = req.instance_id
    itype = str(instance.get("InstanceType", ""))
    problems: list[InvalidInputError] = []

    def refuse(fix: str) -> None:
        problems.append(InstanceHazardError("consistency", "stop", fix))

    if facts.group is not None:
        group, state = facts.group
        refuse(
            f"{iid} is in Auto Scaling group {group!r} ({state}), which marks a stopped "
            "member unhealthy and replaces it mid-bake; detach it "
            f"(`aws autoscaling detach-instances --auto-scaling-group-name {group} "
            f"--instance-ids {iid} --should-decrement-desired-capacity`), put it in Standby "
            f"(`aws autoscaling enter-standby --auto-scaling-group-name {group} "
            f"--instance-ids {iid} --should-decrement-desired-capacity`), or use "
            "consistency 'reboot' or 'live'"
        )
    if facts.storage_gb is not None and not req.allow_instance_store_loss:
        refuse(
            f"{iid} ({itype}) has {facts.storage_gb} GB of instance-store volumes, which a "
            "stop erases; use consistency 'reboot' (keeps instance-store data), or set "
            "allow_instance_store_loss: true if that data may go"
        )
    if facts.stop_protected:
        refuse(
            f"{iid} has stop protection (DisableApiStop), so StopInstances is refused; use "
            "consistency 'reboot' or 'live', or turn it off with `aws ec2 "
            f"modify-instance-attribute --instance-id {iid} --no-disable-api-stop`"
        )
    if instance.get("InstanceLifecycle") == "spot":
        refuse(
            f"{iid} is a Spot Instance: a one-time Spot request's instance cannot be "
            "stopped, and a persistent one's start waits for Spot capacity; use "
            "consistency 'reboot' or 'live'"
        )
    if itype.startswith("mac") and itype.endswith(".metal"):
        refuse(
            f"{iid} is a Mac instance ({itype}): after a stop its Dedicated Host scrubs "
            "for up to hours before the instance can start again; use consistency "
            "'reboot'"
        )
    return problems


def _hold_finding(instance_id: str, note: Note, now: datetime) -> tuple[str, bool]:
    """What to say about another bake's stop note, and whether check refuses.

    The rule is instance_hold's (``Note.live``), the one create follows: a live note is
    waited out at create, so check refuses it now; a stale one is taken over."""
    if note.live(now):
        return (
            f"{instance_id} is held by bake {note.bake_id} (another stack or run) until "
            f"{note.held_until}; run this bake after it finishes (at create, a bake waits "
            "for the note to clear)",
            True,
        )
    expired = f"expired {note.held_until}" if note.held_until else "written with no expiry"
    return (
        f"stale stop note of bake {note.bake_id} on {instance_id} ({expired}): this bake "
        f"will take it over and leave the instance {note.restore_state or 'as it was found'}",
        False,
    )


def preflight_bake(
    ec2: Any,
    autoscaling: Any,
    req: PreflightRequest,
    *,
    instance: Mapping[str, Any] | None = None,
    now: Now = tags.utcnow,
) -> PreflightReport:
    """Every hazard of baking ``req.instance_id`` as asked, found without changing anything.

    AWS calls (all read-only): DescribeInstances (unless ``instance`` is the description
    check already read); then at once: when the bake would stop the instance,
    DescribeAutoScalingInstances, DescribeInstanceTypes, DescribeInstanceAttribute
    (disableApiStop); DescribeSnapshots (pending, of its volumes).

    Returns:
        The problems (one per hazard), notes and the plan line for the preview.

    Raises:
        botocore errors as they come (``reachability.aws_call_errors``): the caller
        turns them into ``reachability.aws_problem``.
    """
    if instance is None:
        instance = describe_instance(ec2, req.instance_id)
    state = str(instance.get("State", {}).get("Name", ""))
    problems: list[InvalidInputError] = []
    notes: list[str] = []
    reason = instance.get("StateReason") or {}
    if state == "stopped" and HIBERNATED in (reason.get("Code", ""), reason.get("Message", "")):
        problems.append(
            InstanceHazardError(
                "instance_id",
                req.instance_id,
                "the instance is hibernated, and an image of a hibernated instance may not "
                "boot; start it and stop it normally (`aws ec2 start-instances`, then "
                "`aws ec2 stop-instances` without --hibernate), then bake",
            )
        )
    elif (instance.get("HibernationOptions") or {}).get("Configured"):
        notes.append(
            f"{req.instance_id} has hibernation enabled: AWS warns that instances from an "
            "image of it may not be reachable; test the image before you roll it out"
        )
    will_stop = req.consistency == "stop" and state in _WILL_STOP_STATES
    facts, pending = read_all(
        lambda: _read_stop_facts(ec2, autoscaling, instance) if will_stop else None,
        lambda: _pending_snapshots(ec2, _volume_ids(instance)),
    )
    if facts is not None:
        problems += _stop_hazards(req, instance, facts)
    note = note_of(tags.to_dict(instance.get("Tags")))
    if note is not None and note.bake_id != req.bake_id:
        said, refused = _hold_finding(req.instance_id, note, now())
        if refused:
            problems.append(InstanceHeldError("instance_id", req.instance_id, said))
        else:
            notes.append(said)
    if pending:
        ids = ", ".join(sorted(s["SnapshotId"] for s in pending))
        before = "stopping it" if req.consistency == "stop" else "imaging it"
        notes.append(
            f"snapshots still pending on volumes of {req.instance_id} ({ids}): the bake "
            f"waits for them before {before}"
        )
    return PreflightReport(
        problems=tuple(problems),
        notes=tuple(notes),
        plan=plan_line(req.instance_id, state, req.consistency),
        pending_snapshot_ids=tuple(sorted(s["SnapshotId"] for s in pending)),
    )


def wait_for_pending_volume_snapshots(
    ec2: Any,
    volume_ids: Iterable[str],
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> None:
    """Wait until no snapshot of these volumes is pending (call before stopping).

    AWS calls: DescribeSnapshots (polls, only while some are pending).

    Raises:
        WaitTimeoutError: some were still pending at the deadline (nothing was stopped).
    """
    volumes = sorted(set(volume_ids))

    def probe() -> tuple[Any, object]:
        pending = _pending_snapshots(ec2, volumes)
        state = "idle"
        if pending:
            state = (
                f"{len(pending)} pending ("
                + ", ".join(f"{s['SnapshotId']} {s.get('Progress') or '0%'}" for s in pending)
                + ")"
            )
        return waiter.acceptors.classify([state]), state

    waiter = WAITS["volume_snapshots_idle"]
    resource = f"snapshots of {', '.join(volumes)}"
    wait_for(waiter, probe, resource=resource, pacing=pacing or Pacing(), spec=spec, log=log)
