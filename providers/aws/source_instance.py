"""The golden instance: inspect it, stop it for a bake, and always put it back.

A stop is recorded on the instance itself (tags ``bakery:stopped-by`` and
``bakery:restore-state``) *before* StopInstances, so a run that dies while the
instance is down leaves a note that the next run reads to restore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.errors import InstanceNotRestoredError, InstanceUnsuitableError
from providers.aws.preflight import wait_for_pending_volume_snapshots
from providers.aws.waits import WAITS, Acceptors, Outcome, Pacing, WaitSpec, wait_for

Log = Callable[[str], None]

# States an instance passes through on its own; wait them out before deciding.
TRANSIENT_STATES = frozenset({"pending", "stopping"})
GONE_STATES = frozenset({"shutting-down", "terminated"})


@dataclass(frozen=True)
class Volume:
    """One EBS volume attached to the instance, as the image must mirror it."""

    device_name: str
    volume_id: str
    size_gib: int
    volume_type: str
    iops: int | None
    throughput: int | None
    encrypted: bool
    kms_key_id: str | None
    delete_on_termination: bool


@dataclass(frozen=True)
class SourceInstance:
    """What a bake needs to know about the instance it images."""

    instance_id: str
    state: str
    root_device_name: str
    architecture: str
    virtualization_type: str
    ena_support: bool | None
    sriov_net_support: str | None
    boot_mode: str | None
    imds_support: str | None
    image_id: str | None
    volumes: tuple[Volume, ...]
    tags: dict[str, str]

    @property
    def volume_ids(self) -> frozenset[str]:
        return frozenset(v.volume_id for v in self.volumes)

    @property
    def held_by(self) -> str | None:
        """The bake id of an earlier run that stopped this instance and did not restore it."""
        return self.tags.get(tags.STOPPED_BY)


def _describe(ec2: Any, instance_id: str) -> dict[str, Any]:
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code.startswith("InvalidInstanceID"):
            raise InstanceUnsuitableError(
                "instance_id",
                instance_id,
                f"no such instance in region {ec2.meta.region_name} ({code}); "
                "check the id and the region",
            ) from exc
        raise
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances:
        raise InstanceUnsuitableError(
            "instance_id", instance_id, f"no such instance in region {ec2.meta.region_name}"
        )
    return instances[0]


def _source_image(ec2: Any, image_id: str | None) -> dict[str, Any]:
    """The image the instance was launched from, if it is still visible."""
    if not image_id:
        return {}
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError:
        return {}  # deregistered or not shared with us: the instance is the only source
    return images[0] if images else {}


def _volumes(ec2: Any, instance: dict[str, Any]) -> tuple[Volume, ...]:
    mappings = {
        m["Ebs"]["VolumeId"]: m for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m
    }
    if not mappings:
        return ()
    described = ec2.describe_volumes(VolumeIds=sorted(mappings))["Volumes"]
    volumes = []
    for vol in described:
        mapping = mappings[vol["VolumeId"]]
        volumes.append(
            Volume(
                device_name=mapping["DeviceName"],
                volume_id=vol["VolumeId"],
                size_gib=int(vol["Size"]),
                volume_type=vol.get("VolumeType", "gp2"),
                iops=vol.get("Iops"),
                throughput=vol.get("Throughput"),
                encrypted=bool(vol.get("Encrypted")),
                kms_key_id=vol.get("KmsKeyId"),
                delete_on_termination=bool(mapping["Ebs"].get("DeleteOnTermination")),
            )
        )
    return tuple(sorted(volumes, key=lambda v: v.device_name))


def inspect_instance(ec2: Any, instance_id: str) -> SourceInstance:
    """Describe the instance and check it can be baked.

    AWS calls: DescribeInstances, DescribeVolumes, DescribeImages (source image).

    Raises:
        InstanceUnsuitableError: unknown id, terminated, or not EBS-backed.
    """
    instance = _describe(ec2, instance_id)
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
            "instances can be baked from snapshots",
        )
    image = _source_image(ec2, instance.get("ImageId"))
    http_tokens = instance.get("MetadataOptions", {}).get("HttpTokens")
    return SourceInstance(
        instance_id=instance_id,
        state=state,
        root_device_name=instance["RootDeviceName"],
        architecture=instance.get("Architecture") or image.get("Architecture") or "x86_64",
        virtualization_type=image.get("VirtualizationType")
        or instance.get("VirtualizationType")
        or "hvm",
        ena_support=instance.get("EnaSupport", image.get("EnaSupport")),
        sriov_net_support=instance.get("SriovNetSupport") or image.get("SriovNetSupport"),
        boot_mode=instance.get("CurrentInstanceBootMode")
        or instance.get("BootMode")
        or image.get("BootMode"),
        imds_support=image.get("ImdsSupport") or ("v2.0" if http_tokens == "required" else None),
        image_id=instance.get("ImageId"),
        volumes=_volumes(ec2, instance),
        tags=tags.to_dict(instance.get("Tags")),
    )


def _state_probe(ec2: Any, instance_id: str, acceptors: Acceptors) -> Any:
    def probe() -> tuple[Outcome, object]:
        state = _describe(ec2, instance_id)["State"]["Name"]
        return acceptors.classify([state]), state

    return probe


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
    probe = _state_probe(ec2, instance_id, waiter.acceptors)
    resource = f"instance {instance_id}"
    return str(wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log))


def settle_instance(
    ec2: Any, source: SourceInstance, *, pacing: Pacing, spec: WaitSpec | None = None
) -> SourceInstance:
    """Wait out ``pending``/``stopping`` (e.g. an interrupted run's stop), then re-inspect."""
    if source.state not in TRANSIENT_STATES:
        return source
    wait_for_state(ec2, source.instance_id, "instance_settled", pacing=pacing, spec=spec)
    return inspect_instance(ec2, source.instance_id)


def state_to_restore(source: SourceInstance) -> str:
    """The state to leave the instance in: what an earlier run noted, else what we see."""
    return source.tags.get(tags.RESTORE_STATE) or source.state


def stop_instance(
    ec2: Any,
    source: SourceInstance,
    bake_id: str,
    *,
    restore_state: str,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    now: Callable[[], datetime] = tags.utcnow,
) -> None:
    """Note the state to restore on the instance, stop it and wait until stopped.

    The note says until when this bake holds the instance (its own deadlines: the wait
    for other snapshots, the stop and the start), so another bake refuses at check
    until then and takes a note over after (providers/aws/preflight.py). Snapshots
    still pending on its volumes are waited out before the stop (EBS allows few per
    volume; a stop that then cannot snapshot is a needless outage).

    AWS calls: CreateTags (instance), DescribeSnapshots (while some are pending),
    StopInstances, DescribeInstances (polls).
    """
    stop_spec = spec or WAITS["instance_stopped"].spec
    idle_spec = WAITS["volume_snapshots_idle"].spec
    hold = timedelta(seconds=idle_spec.deadline_s + 2 * stop_spec.deadline_s)
    note = {tags.STOPPED_BY: bake_id, tags.RESTORE_STATE: restore_state}
    note[tags.HELD_UNTIL] = tags.stamp(now() + hold)
    ec2.create_tags(Resources=[source.instance_id], Tags=tags.to_list(note))
    if source.state != "stopped":
        wait_for_pending_volume_snapshots(ec2, source.volume_ids, pacing=pacing, log=log)
        ec2.stop_instances(InstanceIds=[source.instance_id])
    wait_for_state(ec2, source.instance_id, "instance_stopped", pacing=pacing, spec=spec, log=log)


def start_instance(
    ec2: Any,
    instance_id: str,
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> None:
    """Start the instance, wait until running, then drop the stop note.

    AWS calls: StartInstances, DescribeInstances (polls), DeleteTags (instance).
    """
    ec2.start_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, instance_id, "instance_running", pacing=pacing, spec=spec, log=log)
    clear_stop_note(ec2, instance_id)


def clear_stop_note(ec2: Any, instance_id: str) -> None:
    """Remove the stop note once the instance is where it should be."""
    note = (tags.STOPPED_BY, tags.RESTORE_STATE, tags.HELD_UNTIL)
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": k} for k in note])


def restore_instance(
    ec2: Any,
    instance_id: str,
    wanted: str,
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> None:
    """Put the instance back in ``wanted`` ("running" or "stopped"), whatever happened.

    Raises:
        InstanceNotRestoredError: it could not be started; the message says what to do.
    """
    try:
        current = _describe(ec2, instance_id)["State"]["Name"]
        if current in TRANSIENT_STATES:
            current = wait_for_state(ec2, instance_id, "instance_settled", pacing=pacing, spec=spec)
        if wanted == "running" and current != "running":
            start_instance(ec2, instance_id, pacing=pacing, spec=spec, log=log)
        else:
            clear_stop_note(ec2, instance_id)
    except Exception as exc:
        raise InstanceNotRestoredError(instance_id, wanted, exc) from exc
