"""moto extension, part of instance_refresh.py: how a refresh replaces instances.

Each step replaces a batch of instances as the min/max healthy range allows, as the
instance maintenance policy page describes
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html):
MaxHealthyPercentage 100 terminates a batch then launches, at least one instance at
a time (so a group whose rounded-up minimum leaves nothing to spare dips below it);
above 100 it launches first. Warm-up (InstanceWarmup, else DefaultInstanceWarmup,
else the grace period) and checkpoint delays (3600 s when not given:
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html)
are counted, not waited. Standby and scale-in protected instances follow their
preference (Ignore / Terminate / Wait). Alarms are read from moto's CloudWatch.
Divergences: batches are launched or terminated all at once; time does not pass.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.cloudwatch.models import cloudwatch_backends

from tests.moto_ext import asg_health

ACTIVE = frozenset({"Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"})
_CAPACITY: dict[str, list[int]] = {}
_SECONDS: dict[str, float] = {}

DEFAULT_CHECKPOINT_DELAY_S = 3600


def capacity_seen(group: str) -> list[int]:
    """Every InService count of ``group`` the refresh model went through, in order."""
    return list(_CAPACITY.get(group, []))


def simulated_seconds(group: str) -> float:
    """The warm-ups and checkpoint delays the refreshes of ``group`` would have waited."""
    return _SECONDS.get(group, 0.0)


@dataclass
class Refresh:
    refresh_id: str
    group: str
    preferences: dict[str, Any]
    desired: dict[str, Any] | None
    previous: dict[str, Any]
    steps: deque[str]
    reason: str
    rollback_reason: str
    status: str = "Pending"
    status_reason: str = ""
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    end: datetime | None = None
    total: int = 0
    launched: set[str] = field(default_factory=set)
    rollback: dict[str, Any] | None = None
    percentage: int = 0  # frozen when the refresh leaves the active states
    replaced: int = 0
    checkpoints: set[int] = field(default_factory=set)

    def describe(self, group: FakeAutoScalingGroup | None) -> dict[str, Any]:
        to_update = 0
        if group is not None and self.desired and self.status in ACTIVE:
            to_update = sum(1 for s in group.instance_states if not runs(s, self.desired))
        if self.status == "Successful":
            self.percentage = 100
        elif self.status in ACTIVE and self.total:
            self.percentage = math.floor(100 * (self.total - to_update) / self.total)
        out: dict[str, Any] = {
            "InstanceRefreshId": self.refresh_id,
            "AutoScalingGroupName": self.group,
            "Status": self.status,
            "StatusReason": self.status_reason,
            "StartTime": self.start,
            "PercentageComplete": self.percentage,
            "InstancesToUpdate": to_update,
            "Preferences": self.preferences,
            "Strategy": "Rolling",
        }
        if self.end is not None:
            out["EndTime"] = self.end
        if self.desired:
            out["DesiredConfiguration"] = {"LaunchTemplate": self.desired}
        if self.rollback is not None:
            out["RollbackDetails"] = self.rollback
        return out


def refreshes(backend: AutoScalingBackend) -> dict[str, list[Refresh]]:
    return backend.__dict__.setdefault("_bakery_instance_refreshes", {})


def group_spec(group: FakeAutoScalingGroup) -> dict[str, Any]:
    """The group's launch configuration or template reference, as AWS shows it."""
    if group.ec2_launch_template is not None:
        return {
            "LaunchTemplate": {
                "LaunchTemplateId": group.ec2_launch_template.id,
                "LaunchTemplateName": group.ec2_launch_template.name,
                "Version": str(group.launch_template_version),
            }
        }
    return {"LaunchConfigurationName": getattr(group, "launch_configuration_name", None)}


def runs(state: InstanceState, spec: dict[str, Any]) -> bool:
    mine = getattr(state, "_bakery_launched_from", None) or {}
    if "LaunchTemplate" in mine:
        lt = mine["LaunchTemplate"]
        return bool(
            lt["LaunchTemplateId"] == spec.get("LaunchTemplateId")
            and lt["Version"] == str(spec.get("Version"))
        )
    return bool(mine.get("LaunchConfigurationName") == spec.get("LaunchConfigurationName"))


def use(group: FakeAutoScalingGroup, spec: dict[str, Any]) -> None:
    """Point the group at a launch template spec or a launch configuration name."""
    if spec.get("LaunchConfigurationName"):
        name = spec["LaunchConfigurationName"]
        group.launch_config = group.autoscaling_backend.launch_configurations[name]
        group.launch_configuration_name = name
        group.ec2_launch_template = None
        return
    group.launch_config = None  # type: ignore[assignment]
    group.__dict__.pop("launch_configuration_name", None)
    lt = spec.get("LaunchTemplate", spec)
    group._set_launch_configuration(
        "", {"LaunchTemplateId": lt["LaunchTemplateId"], "Version": str(lt["Version"])}, None
    )


def _in_service(group: FakeAutoScalingGroup) -> int:
    return sum(1 for s in group.instance_states if s.lifecycle_state == "InService")


def _note_capacity(group: FakeAutoScalingGroup) -> None:
    _CAPACITY.setdefault(group.name, []).append(_in_service(group))


def replace_instances(
    group: FakeAutoScalingGroup,
    states: list[InstanceState],
    spec: dict[str, Any],
    *,
    launch_first: bool = False,
) -> set[str]:
    """Replace ``states`` with as many instances from ``spec``, in the order asked."""
    if not states:
        return set()
    saved = group_spec(group)
    gone = {s.instance.id for s in states}
    before = {s.instance.id for s in group.instance_states}

    def terminate() -> None:
        group.instance_states = [s for s in group.instance_states if s.instance.id not in gone]
        group.autoscaling_backend.ec2_backend.terminate_instances(list(gone))
        _note_capacity(group)

    def launch() -> None:
        use(group, spec)
        try:
            group.replace_autoscaling_group_instances(len(gone), group.get_propagated_tags())
        finally:
            use(group, saved)
        asg_health.register_new_instances(group)
        _note_capacity(group)

    if launch_first:
        launch()
        terminate()
    else:
        terminate()
        launch()
    return {s.instance.id for s in group.instance_states} - before


def replace_in_batches(
    group: FakeAutoScalingGroup,
    refresh: Refresh,
    states: list[InstanceState],
    spec: dict[str, Any],
    *,
    first_only: bool = False,
) -> set[str]:
    """Replace ``states`` batch by batch, as the min/max healthy range allows."""
    prefs = refresh.preferences
    desired = max(1, int(group.desired_capacity or len(group.instance_states) or 1))
    low = int(prefs.get("MinHealthyPercentage", 90))
    high = int(prefs.get("MaxHealthyPercentage", 100))
    keep = math.ceil(desired * low / 100)
    if high > 100:
        size, launch_first = max(1, math.floor(desired * high / 100) - desired), True
    else:
        size, launch_first = max(1, desired - keep), False
    warmup = prefs.get("InstanceWarmup")
    if warmup is None:
        warmup = getattr(group, "default_instance_warmup", None) or group.health_check_grace_period
    launched: set[str] = set()
    for start in range(0, len(states), size):
        batch = states[start : start + size]
        launched |= replace_instances(group, batch, spec, launch_first=launch_first)
        _SECONDS[group.name] = _SECONDS.get(group.name, 0.0) + float(warmup or 0)
        refresh.replaced += len(batch)
        for point in prefs.get("CheckpointPercentages") or []:
            if (
                point not in refresh.checkpoints
                and refresh.total
                and (100 * refresh.replaced / refresh.total >= int(point))
            ):
                refresh.checkpoints.add(point)
                delay = prefs.get("CheckpointDelay", DEFAULT_CHECKPOINT_DELAY_S)
                _SECONDS[group.name] = _SECONDS.get(group.name, 0.0) + float(delay)
        if first_only:
            break
    return launched


def _held(state: InstanceState, refresh: Refresh) -> str | None:
    """Which preference governs an instance the refresh would replace, if any."""
    if state.lifecycle_state == "Standby":
        return "StandbyInstances"
    if getattr(state, "protected_from_scale_in", False):
        return "ScaleInProtectedInstances"
    return None


def stale_instances(
    group: FakeAutoScalingGroup, refresh: Refresh
) -> tuple[list[InstanceState], list[str]]:
    """The instances to replace now, and the reasons a Wait preference holds others."""
    spec = refresh.desired or {}
    skip = refresh.preferences.get("SkipMatching", False)
    todo: list[InstanceState] = []
    waiting: list[str] = []
    for state in group.instance_states:
        if state.instance.id in refresh.launched:
            continue
        if skip and runs(state, spec):
            continue
        held = _held(state, refresh)
        choice = refresh.preferences.get(held, "Wait") if held else "Terminate"
        if choice == "Ignore":
            continue
        if choice == "Wait":
            waiting.append(f"{state.instance.id} ({held})")
            continue
        todo.append(state)
    return todo, waiting


def alarm_in_alarm(backend: AutoScalingBackend, refresh: Refresh) -> str | None:
    names = (refresh.preferences.get("AlarmSpecification") or {}).get("Alarms") or []
    if not names:
        return None
    watch = cloudwatch_backends[backend.account_id][backend.region_name]
    for name in names:
        alarm = watch.alarms.get(name)
        if alarm is not None and alarm.state_value == "ALARM":
            return str(name)
    return None


def reset() -> None:
    """Forget what was recorded (the extension's ``installed()`` ends)."""
    _CAPACITY.clear()
    _SECONDS.clear()
