"""The golden instance: inspect it, stop it for a bake, and always bring it back.

Stopping and starting follow the EC2 User Guide ("Stop and start Amazon EC2
instances", "Troubleshoot instance launch issues"):

- StartInstances after a stop can be refused with InsufficientInstanceCapacity (the
  capacity the instance had is gone for now): retried, bounded (default 30 minutes),
  with backoff and a progress line each time;
- while an image of the instance is pending, EC2 may refuse a start with
  IncorrectInstanceState: retried the same way, and said so;
- an instance can go pending -> stopped (a KMS key of its volumes the caller may not
  use: StateReason ``Client.InternalError``): a failure naming that reason, not a wait
  to the deadline.

When the instance cannot be brought back the error says the state it is in and the
command to run. Who holds the instance during a bake (the stop note) is
``instance_hold.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.callbacks import Log
from providers.aws.errors import (
    BakeryError,
    InstanceNotRestoredError,
    InstanceUnsuitableError,
    StartRefusedError,
)
from providers.aws.wait_table import START_RETRY, WAITS
from providers.aws.waits import THROTTLED, Outcome, Pacing, WaitSpec, wait_for

# States an instance passes through on its own; wait them out before deciding.
TRANSIENT_STATES = frozenset({"pending", "stopping"})
GONE_STATES = frozenset({"shutting-down", "terminated"})
# StartInstances refusals that pass: no capacity for now, or the instance still busy
# with an image (EC2 API reference, "Error codes": InsufficientInstanceCapacity,
# IncorrectInstanceState). Anything else is not retried.
START_RETRY_CODES = frozenset({"InsufficientInstanceCapacity", "IncorrectInstanceState"})


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class SourceInstance:
    """What a bake needs to know about the instance it images."""

    instance_id: str
    state: str
    root_device_name: str
    architecture: str
    # Billing as EC2 reports it (DescribeInstances PlatformDetails / UsageOperation);
    # an image of the instance must carry the same.
    platform_details: str | None
    usage_operation: str | None
    # EBS volumes attached: device name -> volume id.
    volumes: tuple[tuple[str, str], ...]
    tags: dict[str, str]
    # The default type of a verify's test instance.
    instance_type: str = ""

    @property
    def volume_ids(self) -> tuple[str, ...]:
        return tuple(sorted(v for _, v in self.volumes))


def find_instance(ec2: Any, instance_id: str) -> dict[str, Any] | None:
    """The instance as DescribeInstances reports it, or None if the region has none of that id.

    AWS calls: DescribeInstances.
    """
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "").startswith("InvalidInstanceID"):
            return None
        raise
    instances = [i for r in reservations for i in r["Instances"]]
    return dict(instances[0]) if instances else None


def no_such_instance(ec2: Any, instance_id: str) -> InstanceUnsuitableError:
    """The error for an id ``find_instance`` found nothing for."""
    return InstanceUnsuitableError(
        "instance_id",
        instance_id,
        f"no such instance in region {ec2.meta.region_name}; check the id and the region",
    )


def describe_instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    """The instance as DescribeInstances reports it.

    Raises:
        InstanceUnsuitableError: no such instance in the client's region.
    """
    instance = find_instance(ec2, instance_id)
    if instance is None:
        raise no_such_instance(ec2, instance_id)
    return instance


def inspect_instance(
    ec2: Any, instance_id: str, *, instance: Mapping[str, Any] | None = None
) -> SourceInstance:
    """Describe the instance and check it can be baked.

    AWS calls: DescribeInstances, unless ``instance`` is the description already read.

    Raises:
        InstanceUnsuitableError: unknown id, terminated, or not EBS-backed.
    """
    if instance is None:
        instance = describe_instance(ec2, instance_id)
    state = instance["State"]["Name"]
    if state in GONE_STATES:
        raise InstanceUnsuitableError(
            "instance_id", instance_id, f"the instance is {state}; bake from a live instance"
        )
    if instance.get("RootDeviceType") != "ebs":
        raise InstanceUnsuitableError(
            "instance_id",
            instance_id,
            f"its root device is {instance.get('RootDeviceType')}, not EBS; only EBS-backed "
            "instances can be imaged (CreateImage)",
        )
    volumes = tuple(
        sorted(
            (m["DeviceName"], m["Ebs"]["VolumeId"])
            for m in instance.get("BlockDeviceMappings", [])
            if "Ebs" in m
        )
    )
    return SourceInstance(
        instance_id=instance_id,
        state=state,
        root_device_name=instance["RootDeviceName"],
        architecture=instance.get("Architecture") or "x86_64",
        platform_details=instance.get("PlatformDetails"),
        usage_operation=instance.get("UsageOperation"),
        volumes=volumes,
        tags=tags.to_dict(instance.get("Tags")),
        instance_type=instance.get("InstanceType") or "",
    )


def wait_for_state(
    ec2: Any,
    instance_id: str,
    waiter_name: str,
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> str:
    """Wait for the instance to reach the goal of ``WAITS[waiter_name]``."""
    waiter = WAITS[waiter_name]
    resource = f"instance {instance_id}"
    return str(
        wait_for(
            waiter,
            waiter.probe(ec2, [instance_id]),
            resource=resource,
            pacing=pacing,
            spec=spec,
            log=log,
        )
    )


def settle_instance(
    ec2: Any, source: SourceInstance, *, pacing: Pacing, spec: WaitSpec | None = None
) -> SourceInstance:
    """Wait out ``pending``/``stopping`` (e.g. an interrupted run's stop), then re-inspect."""
    if source.state not in TRANSIENT_STATES:
        return source
    wait_for_state(ec2, source.instance_id, "instance_settled", pacing=pacing, spec=spec)
    return inspect_instance(ec2, source.instance_id)


def request_start(
    ec2: Any,
    instance_id: str,
    *,
    pacing: Pacing,
    spec: WaitSpec = START_RETRY,
    log: Log = _quiet,
) -> None:
    """StartInstances, retried while EC2 refuses it for a reason that passes.

    AWS calls: StartInstances (until accepted).

    Raises:
        StartRefusedError: still refused when ``spec``'s deadline passed.
    """
    tries = {"n": 0}

    def probe() -> tuple[Outcome, object]:
        tries["n"] += 1
        try:
            ec2.start_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in START_RETRY_CODES | THROTTLED:
                raise
            why = "no capacity" if code == "InsufficientInstanceCapacity" else code
            log(f"EC2 refused to start {instance_id} ({why}); retrying (attempt {tries['n']})")
            return Outcome.RETRY, code
        return Outcome.SUCCESS, "accepted"

    try:
        wait_for(
            WAITS["instance_running"],
            probe,
            resource=f"start of {instance_id}",
            pacing=pacing,
            spec=spec,
        )
    except BakeryError as exc:
        raise StartRefusedError(instance_id, getattr(exc, "state", "?"), spec.deadline_s) from exc


@dataclass(frozen=True)
class StateChange:
    """What the looks of one stop or start saw, in seconds after its request."""

    under_way_s: float  # the last look that saw it still under way (0: none did)
    done_s: float  # the look that saw it done


def change_state(
    ec2: Any,
    instance_id: str,
    wanted: Literal["stopped", "running"],
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    under_way_s: float | None = None,
) -> StateChange:
    """Stop or start the instance and wait until it is ``wanted``.

    A stop is the caller's to hold (``instance_hold``); a start retries the refusals
    that pass (``request_start``). ``under_way_s``: how long the instance's last such
    change was seen under way (the near looks begin there: ``WaitSpec``).

    AWS calls: StopInstances or StartInstances, DescribeInstances (polls).

    Raises:
        WaitFailedError: a start went pending -> stopped (the message has EC2's reason).
    """
    if wanted == "stopped":
        ec2.stop_instances(InstanceIds=[instance_id])
    else:
        request_start(ec2, instance_id, pacing=pacing, log=log or _quiet)
    requested = pacing.clock()
    waiter = WAITS[f"instance_{wanted}"]
    look = waiter.probe(ec2, [instance_id])
    under_way = {"s": 0.0}

    def probe() -> tuple[Outcome, object] | tuple[Outcome, object, float | None]:
        seen = look()
        if seen[0] is Outcome.RETRY:
            under_way["s"] = pacing.clock() - requested
        return seen

    wait_for(
        waiter,
        probe,
        resource=f"instance {instance_id}",
        pacing=pacing,
        spec=spec,
        log=log,
        under_way_s=under_way_s,
    )
    return StateChange(under_way["s"], pacing.clock() - requested)


def current_state(ec2: Any, instance_id: str) -> str:
    """The instance's state now, or "unknown" when even that cannot be read."""
    try:
        return str(describe_instance(ec2, instance_id)["State"]["Name"])
    except (BakeryError, ClientError):
        return "unknown"


def restore_instance(
    ec2: Any,
    instance_id: str,
    wanted: str,
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    under_way_s: float | None = None,
    starting: str = "",
) -> StateChange | None:
    """Put the instance back in ``wanted`` ("running" or "stopped"), whatever happened.

    ``starting`` is logged when it has to be started; ``under_way_s`` is how long its
    last start was seen under way.

    Returns:
        What the start's looks saw (``change_state``), or None when none was needed.

    Raises:
        InstanceNotRestoredError: it could not be started; the message says the state
            it is in and what to do.
    """
    try:
        current = describe_instance(ec2, instance_id)["State"]["Name"]
        if current in TRANSIENT_STATES:
            current = wait_for_state(ec2, instance_id, "instance_settled", pacing=pacing, spec=spec)
        if wanted != "running" or current == "running":
            return None
        if starting and log is not None:
            log(starting)
        return change_state(
            ec2, instance_id, "running", pacing=pacing, spec=spec, log=log, under_way_s=under_way_s
        )
    except Exception as exc:
        raise InstanceNotRestoredError(
            instance_id, wanted, exc, current_state(ec2, instance_id)
        ) from exc
