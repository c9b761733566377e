"""Every wait Bakery makes, as data: the one table (``WAITS``) the loop in ``waits`` runs.

Each entry names its goal, its cadence, its acceptors and, where the loop makes the
describe call itself (``Waiter.probe``), the call, how to read it and error matchers.
The bake's waits:

Modelled on botocore's ec2 ``waiters-2.json`` (InstanceStopped, InstanceRunning,
ImageAvailable, SnapshotCompleted), with the gaps AWS's own waiters leave filled:

- every wait treats throttling as "look again" (``waits.THROTTLED``), never an abort;
- ``instance_running`` fails when the instance went pending -> stopped (EC2 then
  reports a StateReason such as ``Client.InternalError``, e.g. a KMS key the caller
  may not use: EC2 User Guide, "Troubleshoot instance launch issues"), instead of
  spinning to its deadline;
- ``image_available`` also fails on the terminal states AWS lists for images
  (EC2 API reference, Image.State), and times its looks from the image's snapshots'
  ``Progress`` (EC2 API reference, Snapshot.Progress), since an image of 10-minute
  snapshots cannot be available before they are; once they are complete (AWS gives
  no time for the rest), it looks again after a quarter of the time so far;
- ``image_snapshots_started``: the image has a snapshot (tagged with its bake id at
  creation) of every EBS volume of the instance: the moment a stopped instance can be
  started again (a snapshot is point-in-time when it starts: EC2 User Guide, "Amazon
  EBS snapshots").

Run Command waits (``command_done``, ``agent_online``) copy botocore's ssm
``CommandExecuted`` acceptors; see their entries below.

Cadences are chosen for few looks (bench/bake_downtime.py counts them). AWS documents
no duration for a stop or a start (StopInstances: EC2 "attempts to shut it down
forcibly after a short while"; the User Guide's "Stop and start Amazon EC2 instances"
gives none), so each look at once, and then:

- with the instance's own history (tagged on the lineage's last image: ``tags.STOP_S``,
  how long its last stop was still seen under way, and ``tags.START_S``, when its last
  start was seen done), a stop's looks are 0.5 s apart from the former
  (each second late is downtime) and a start's first look lands at the latter (the
  instance serves once it is running, whenever we look);
- without it (a first bake), a stop's wait settles 10 s, then looks every 4 s (a
  backoff would make a long stop's downtime longer still); a start's looks rarely.

After CreateImage, its snapshots are looked for at once, then every second for 5 s,
then with backoff: the instance is started as soon as the last one is seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from providers.aws import tags
from providers.aws.waits import (
    HOUR,
    MINUTE,
    Acceptors,
    Observation,
    Outcome,
    Waiter,
    WaitSpec,
)


def _states(*names: str) -> frozenset[str]:
    return frozenset(names)


_INSTANCE_GONE = {"InvalidInstanceID.NotFound": Outcome.FAILURE}
# The reason EC2 gives for a stop we (or a user) asked for; any other reason for a
# stopped instance we are starting means EC2 stopped it (pending -> stopped).
USER_STOP = "Client.UserInitiatedShutdown"


def _instances(ec2: Any, ids: Sequence[str]) -> Any:
    return ec2.describe_instances(InstanceIds=list(ids))


def _instance_state(response: Any) -> Observation:
    instances = [i for r in response["Reservations"] for i in r["Instances"]]
    states = tuple(i["State"]["Name"] for i in instances)
    return Observation(states, ", ".join(states) or "not visible yet")


def _instance_starting(response: Any) -> Observation:
    """Like ``_instance_state``, but a stop EC2 made is its own (failure) state."""
    instances = [i for r in response["Reservations"] for i in r["Instances"]]
    states: list[str] = []
    shown: list[str] = []
    for instance in instances:
        state = instance["State"]["Name"]
        reason = instance.get("StateReason") or {}
        code = str(reason.get("Code") or "")
        if state == "stopped" and code and code != USER_STOP:
            states.append("stopped-by-ec2")
            shown.append(f"stopped ({code}: {reason.get('Message', '')})")
        else:
            states.append(state)
            shown.append(state)
    return Observation(tuple(states), ", ".join(shown) or "not visible yet")


def _bake_snapshots(ec2: Any, bake_id: str) -> list[dict[str, Any]]:
    return list(
        ec2.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": f"tag:{tags.BAKE_ID}", "Values": [bake_id]}]
        )["Snapshots"]
    )


def _snapshots_of_volumes(ec2: Any, ids: Sequence[str]) -> Any:
    """ids: the bake id, then the instance's EBS volume ids."""
    return list(ids[1:]), _bake_snapshots(ec2, ids[0])


def _percent(snapshot: dict[str, Any]) -> int:
    return int(str(snapshot.get("Progress") or "0%").rstrip("%") or 0)


def _snapshots_started(response: Any) -> Observation:
    volumes, snapshots = response
    if any(s.get("State") == "error" for s in snapshots):
        return Observation(("error",), "a snapshot of the image failed")
    covered = {s["VolumeId"] for s in snapshots}
    missing = [v for v in volumes if v not in covered]
    if missing:
        return Observation(("waiting",), f"{len(volumes) - len(missing)}/{len(volumes)} started")
    return Observation(("started",), f"{len(volumes)}/{len(volumes)} started")


def _image_and_snapshots(ec2: Any, ids: Sequence[str]) -> Any:
    """ids: the image id, then its bake id (its snapshots say how far it is)."""
    images = ec2.describe_images(ImageIds=[ids[0]])["Images"]
    pending = bool(images) and images[0].get("State") == "pending"
    return images, _bake_snapshots(ec2, ids[1]) if pending and len(ids) > 1 else []


def _image_state(response: Any) -> Observation:
    images, snapshots = response
    if not images:
        return Observation(("missing",), "not visible yet")
    state = str(images[0]["State"])
    if state != "pending" or not snapshots:
        return Observation((state,), state)
    percents = [_percent(s) for s in snapshots]
    if all(s.get("State") == "completed" for s in snapshots):
        return Observation((state,), f"{state}, snapshots completed")
    mean = sum(percents) / len(percents)
    return Observation((state,), f"{state}, snapshots {mean:.0f}%", mean / 100.0)


WAITS: dict[str, Waiter] = {
    "instance_stopped": Waiter(
        "stopped",
        WaitSpec(
            15 * MINUTE,
            first_delay_s=4.0,
            max_delay_s=4.0,
            settle_s=10.0,
            jitter=0.2,
            near_step_s=0.5,
            near_looks=10,
        ),
        Acceptors(frozenset({"stopped"}), frozenset({"pending", "terminated", "shutting-down"})),
        _instances,
        _instance_state,
        _INSTANCE_GONE,
    ),
    # Wait out a transition someone else started (e.g. an interrupted run's stop).
    "instance_settled": Waiter(
        "running or stopped",
        WaitSpec(15 * MINUTE, first_delay_s=2.0, max_delay_s=15.0, jitter=0.5),
        Acceptors(frozenset({"running", "stopped"}), frozenset({"shutting-down", "terminated"})),
        _instances,
        _instance_state,
        _INSTANCE_GONE,
    ),
    "instance_running": Waiter(
        "running",
        WaitSpec(
            15 * MINUTE,
            first_delay_s=15.0,
            max_delay_s=30.0,
            settle_s=15.0,
            jitter=0.2,
            near_step_s=2.0,
            near_looks=3,
        ),
        Acceptors(
            frozenset({"running"}),
            frozenset({"shutting-down", "terminated", "stopping", "stopped-by-ec2"}),
        ),
        _instances,
        _instance_starting,
        _INSTANCE_GONE,
    ),
    "image_snapshots_started": Waiter(
        "started",
        WaitSpec(
            15 * MINUTE,
            first_delay_s=2.0,
            max_delay_s=10.0,
            jitter=0.2,
            near_step_s=1.0,
            near_looks=5,
        ),
        Acceptors(frozenset({"started"}), frozenset({"error"})),
        _snapshots_of_volumes,
        _snapshots_started,
    ),
    # Big volumes take hours for their first snapshot.
    "image_available": Waiter(
        "available",
        WaitSpec(
            10 * HOUR,
            first_delay_s=20.0,
            max_delay_s=120.0,
            jitter=0.2,
            estimate_cap_s=300.0,
            elapsed_share=0.25,
        ),
        Acceptors(
            frozenset({"available"}),
            frozenset({"failed", "error", "invalid", "deregistered", "disabled"}),
        ),
        _image_and_snapshots,
        _image_state,
        # Right after CreateImage the id may not be visible yet (eventual consistency).
        {"InvalidAMIID.NotFound": Outcome.RETRY, "InvalidAMIID.Unavailable": Outcome.RETRY},
    ),
}
# A bake's timeouts (minutes, by user-facing key) map onto these waits.
TIMEOUT_WAITERS = {
    "instance": ("instance_stopped", "instance_running", "instance_settled"),
    "snapshots": ("image_snapshots_started",),
    "image": ("image_available",),
}


# Rollout waits (providers/aws/fleet/instance_refresh.py, groups.py, cutover.py). AWS has
# no waiter for instance refreshes; the states are InstanceRefreshStatus in
# botocore's autoscaling service-2.json (2011-01-01). A refresh's deadline is the
# user's rollout timeout (with_deadline).
_REFRESH_FAILED = ("Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed")
WAITS.update(
    {
        "instance_refresh_successful": Waiter(
            "Successful",
            WaitSpec(deadline_s=1 * HOUR, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("Successful"), _states(*_REFRESH_FAILED)),
        ),
        # Wait out a refresh someone else started (towards another configuration).
        "instance_refresh_ended": Waiter(
            "ended",
            WaitSpec(deadline_s=1 * HOUR, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("Successful", *_REFRESH_FAILED), _states()),
        ),
        # States made up by the probe: "healthy" when the desired capacity is InService,
        # Healthy, on the image and healthy in its target groups; "failed" when a
        # scaling activity failed; "gone" when the group disappeared.
        "group_healthy": Waiter(
            "InService and healthy",
            WaitSpec(deadline_s=30 * MINUTE, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("healthy"), _states("gone", "failed")),
        ),
        # A group scaled to zero: lifecycle hooks and deregistration delays run first.
        "group_drained": Waiter(
            "no instances",
            WaitSpec(deadline_s=20 * MINUTE, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("empty"), _states()),
        ),
        "group_deleted": Waiter(
            "deleted",
            WaitSpec(deadline_s=15 * MINUTE, first_delay_s=2.0, max_delay_s=15.0),
            Acceptors(_states("gone"), _states()),
        ),
    }
)


# Pre-flight (providers/aws/bake/preflight.py): EBS allows few pending snapshots per volume
# (5; 1 for st1/sc1), so a bake waits for other snapshots of the instance's volumes
# before it stops anything. The probe reports "idle" when none is pending.
WAITS["volume_snapshots_idle"] = Waiter(
    "idle (no pending snapshots)",
    WaitSpec(deadline_s=2 * HOUR, first_delay_s=5.0, max_delay_s=60.0),
    Acceptors(_states("idle"), _states()),
)

# Another bake's stop note on the instance (providers/aws/bake/instance_hold.py): at
# most until its held-until; success and failure are decided by the probe (the note,
# not a state).
WAITS["instance_released"] = Waiter(
    "released",
    WaitSpec(24 * HOUR, first_delay_s=5.0, max_delay_s=30.0, jitter=0.5),
    Acceptors(frozenset(), frozenset()),
)
# A start EC2 refused for now (InsufficientInstanceCapacity, IncorrectInstanceState:
# providers/aws/bake/source_instance.py): how long it is retried, and how often (EC2
# suggests waiting a few minutes for capacity).
START_RETRY = WaitSpec(30 * MINUTE, first_delay_s=15.0, max_delay_s=120.0, jitter=0.2)


# Run Command (providers/aws/bake/commands.py). Acceptors copied from botocore's ssm
# waiters-2.json ``CommandExecuted`` (Pending, InProgress, Delayed: retry; Success;
# Cancelled, TimedOut, Failed, Cancelling: failure; InvocationDoesNotExist: retry, since
# GetCommandInvocation is eventually consistent right after SendCommand: SSM API
# reference, GetCommandInvocation). Statuses: Systems Manager User Guide, "Understanding
# command statuses". A command's deadline is its step's timeout (with_deadline); patching
# takes minutes, so looks back off to 20 s.
COMMAND_FAILED = ("Cancelled", "TimedOut", "Failed", "Cancelling")


def _command_invocation(ssm: Any, ids: Sequence[str]) -> Any:
    """ids: the command id, then the instance id."""
    return ssm.get_command_invocation(CommandId=ids[0], InstanceId=ids[1])


def _invocation_status(response: Any) -> Observation:
    status = str(response.get("Status") or "Pending")
    details = str(response.get("StatusDetails") or "")
    return Observation(
        (status,), f"{status} ({details})" if details not in ("", status) else status
    )


def _instance_information(ssm: Any, ids: Sequence[str]) -> Any:
    return ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": list(ids)}])


def _ping_status(response: Any) -> Observation:
    found = response.get("InstanceInformationList") or []
    if not found:
        return Observation(("not registered",), "not registered with Systems Manager")
    status = str(found[0].get("PingStatus") or "unknown")
    return Observation((status,), status)


WAITS["command_done"] = Waiter(
    "Success",
    WaitSpec(1 * HOUR, first_delay_s=5.0, max_delay_s=20.0, jitter=0.2),
    Acceptors(_states("Success"), _states(*COMMAND_FAILED)),
    _command_invocation,
    _invocation_status,
    {"InvocationDoesNotExist": Outcome.RETRY},
)
# AWS-RunPatchBaseline takes minutes to an hour while the instance serves (the bake holds
# nothing yet), so a late look only lengthens the bake: few looks, up to 5 minutes apart.
WAITS["patch_done"] = replace(
    WAITS["command_done"],
    spec=WaitSpec(4 * HOUR, first_delay_s=90.0, max_delay_s=300.0, jitter=0.2),
)
# The agent pings Systems Manager every few minutes at most; after a reboot it reports in
# once the OS is up (PingStatus Online | ConnectionLost | Inactive: SSM API reference,
# InstanceInformation). Neither state is final: an agent comes back or the deadline ends it.
WAITS["agent_online"] = Waiter(
    "Online in Systems Manager (SSM Agent running, with an instance profile that allows "
    "it, e.g. AmazonSSMManagedInstanceCore)",
    WaitSpec(15 * MINUTE, first_delay_s=5.0, max_delay_s=20.0, jitter=0.2),
    Acceptors(_states("Online"), _states()),
    _instance_information,
    _ping_status,
)
# A verify's test instance (providers/aws/bake/verify.py). Right after RunInstances its id
# may not be visible yet (the EC2 API's eventual consistency: "Eventual consistency in
# the Amazon EC2 API"), so a NotFound is "look again", not a failure.
WAITS["test_instance_running"] = replace(
    WAITS["instance_running"], errors={"InvalidInstanceID.NotFound": Outcome.RETRY}
)
# Both status checks of a running test instance: ``ok`` once each passed; ``impaired``
# when either failed; ``initializing`` / ``insufficient-data`` while EC2 is still
# checking (EC2 User Guide, "Status checks for your instances"; API reference,
# InstanceStatusSummary.Status). Checks begin once the instance is running and take a
# few minutes; the deadline is the user's verify.timeout_s (with_deadline).
STATUS_CHECKS = (("SystemStatus", "system"), ("InstanceStatus", "instance"))


def _instance_status(ec2: Any, ids: Sequence[str]) -> Any:
    return ec2.describe_instance_status(InstanceIds=list(ids), IncludeAllInstances=True)


def _status_checks(response: Any) -> Observation:
    found = list(response.get("InstanceStatuses") or [])
    if not found:
        return Observation(("initializing",), "not visible yet")
    status = found[0]
    state = str((status.get("InstanceState") or {}).get("Name") or "")
    if state in ("shutting-down", "terminated", "stopping", "stopped"):
        return Observation(("gone",), f"instance {state}")
    checks = {name: str((status.get(key) or {}).get("Status") or "") for key, name in STATUS_CHECKS}
    impaired = [name for name, value in checks.items() if value == "impaired"]
    if impaired:
        return Observation(("impaired",), f"{' and '.join(impaired)} status check impaired")
    if all(value == "ok" for value in checks.values()):
        return Observation(("ok",), "status checks ok")
    shown = ", ".join(f"{name} {value or 'not reported'}" for name, value in checks.items())
    return Observation(("initializing",), shown)


WAITS["instance_status_ok"] = Waiter(
    "status checks ok",
    WaitSpec(15 * MINUTE, first_delay_s=15.0, max_delay_s=30.0, settle_s=60.0, jitter=0.2),
    Acceptors(frozenset({"ok"}), frozenset({"impaired", "gone"})),
    _instance_status,
    _status_checks,
    _INSTANCE_GONE,
)
