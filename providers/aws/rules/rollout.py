"""The fleet's rules, written once: refresh preferences, their defaults, checks and estimates.

Config (``stack_config``), the component (``components/image_fleet.py``) and the
providers (``providers/instance_refresh.py``, ``providers/cutover.py``) all take their
defaults and their checks from here, so a value is judged the same way everywhere.
Pure Python (no boto3, no pulumi): the config layer may import it.

AWS sources (read 2026-12):

* RefreshPreferences (API reference,
  https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html):
  MinHealthyPercentage 0-100, default 90, "rounded up to the nearest integer" of the
  desired capacity; MaxHealthyPercentage 100-200, needs MinHealthyPercentage, at most
  100 above it (100, the default, terminates before it launches); CheckpointDelay
  defaults to 3600 s when CheckpointPercentages are given, and is refused without them;
  StandbyInstances / ScaleInProtectedInstances default ``Wait``; BakeTime 0-172800 s;
  AlarmSpecification up to 10 alarms.
* Instance maintenance policies (user guide,
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html):
  launch before terminating is min 100 % with max above 100 %.
* pulumi-aws's own ``instance_refresh`` block defaults standby and scale-in protected
  instances to ``Ignore`` (terraform-provider-aws internal/service/autoscaling/group.go):
  with ``Wait`` a refresh waits an hour and fails.

The docs do not say how MaxHealthyPercentage is rounded: Bakery assumes *down* (the
smaller group), so its room check errs on the side of refusing at preview.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from providers.aws.errors import InvalidInputError

DEFAULT_MIN_HEALTHY = 90
DEFAULT_TIMEOUT_S = 3600.0
INSTANCE_CHOICES = ("Ignore", "Wait", "Terminate")
DEFAULT_INSTANCE_CHOICE = "Ignore"
MAX_DELAY_S = 172800  # CheckpointDelay and BakeTime: AWS's maximum
MAX_ALARMS = 10
# Assumptions for the preview-time estimate (AWS publishes no launch time): an
# instance takes this long from launch to InService; a retired group drains for the
# ELB deregistration delay's default.
LAUNCH_S = 120
DRAIN_S = 300


@dataclass(frozen=True)
class RefreshPreferences:
    """What StartInstanceRefresh is told, in Bakery's units (seconds, whole percents).

    Field names are the config keys (``bakery:fleet.<name>``), the ImageFleetArgs
    fields and the provider props alike.
    """

    min_healthy_percentage: int = DEFAULT_MIN_HEALTHY
    max_healthy_percentage: int | None = None
    """None: launch before terminating for 2 instances or fewer, or when terminating
    first would go below ``min_healthy_percentage`` as AWS rounds it; else AWS's 100
    (terminate, then launch)."""
    instance_warmup_s: int | None = None
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True
    standby_instances: str = DEFAULT_INSTANCE_CHOICE
    scale_in_protected_instances: str = DEFAULT_INSTANCE_CHOICE
    alarm_names: tuple[str, ...] = ()
    bake_time_s: int | None = None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> RefreshPreferences:
        """From props or config (numbers may be floats; missing keys take the defaults)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = props.get(f.name)
            if value is None:
                continue
            if f.name in ("checkpoint_percentages",):
                value = tuple(int(v) for v in value)
            elif f.name == "alarm_names":
                value = tuple(str(v) for v in value)
            elif f.name in ("skip_matching", "auto_rollback"):
                value = bool(value)
            elif f.name in ("standby_instances", "scale_in_protected_instances"):
                value = str(value)
            else:
                value = int(value)
            values[f.name] = value
        return cls(**values)

    def to_props(self) -> dict[str, Any]:
        """As provider props: lists for tuples, every key present."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def for_capacity(self, desired: int) -> RefreshPreferences:
        """These preferences with MaxHealthyPercentage resolved for ``desired`` instances."""
        if self.max_healthy_percentage is not None or desired <= 0:
            return self
        if desired > 2 and not terminating_first_dips(desired, self.min_healthy_percentage):
            return self
        # Launch one more instance than desired before terminating: the smallest
        # percentage that rounds (down) to desired + 1, within AWS's max - min <= 100.
        high = min(200, math.ceil(100 * (desired + 1) / desired))
        low = max(self.min_healthy_percentage, high - 100)
        return replace(self, min_healthy_percentage=low, max_healthy_percentage=high)

    def to_api(self, desired: int) -> dict[str, Any]:
        """The ``Preferences`` of a StartInstanceRefresh request for ``desired`` instances."""
        prefs = self.for_capacity(desired)
        api: dict[str, Any] = {
            "MinHealthyPercentage": prefs.min_healthy_percentage,
            "SkipMatching": prefs.skip_matching,
            "AutoRollback": prefs.auto_rollback,
            "StandbyInstances": prefs.standby_instances,
            "ScaleInProtectedInstances": prefs.scale_in_protected_instances,
        }
        if prefs.max_healthy_percentage is not None:
            api["MaxHealthyPercentage"] = prefs.max_healthy_percentage
        if prefs.instance_warmup_s is not None:
            api["InstanceWarmup"] = prefs.instance_warmup_s
        if prefs.checkpoint_percentages:
            api["CheckpointPercentages"] = list(prefs.checkpoint_percentages)
            if prefs.checkpoint_delay_s is not None:
                api["CheckpointDelay"] = prefs.checkpoint_delay_s
        if prefs.alarm_names:
            api["AlarmSpecification"] = {"Alarms": list(prefs.alarm_names)}
        if prefs.bake_time_s is not None:
            api["BakeTime"] = prefs.bake_time_s
        return api


PREFERENCE_KEYS = tuple(f.name for f in fields(RefreshPreferences))


def min_in_service(desired: int, min_healthy_percentage: int) -> int:
    """Instances a refresh keeps InService and healthy: AWS rounds the percentage up."""
    return math.ceil(desired * min_healthy_percentage / 100)


def max_in_group(desired: int, max_healthy_percentage: int | None) -> int:
    """Instances a refresh may run at once (rounded down: the docs are silent)."""
    return math.floor(desired * (max_healthy_percentage or 100) / 100)


def terminating_first_dips(desired: int, min_healthy_percentage: int) -> bool:
    """Whether terminate-then-launch (max 100 %) takes the group below its minimum.

    With max 100 % AWS replaces at least one instance at a time, so it dips whenever
    the rounded-up minimum leaves no instance to spare.
    """
    return desired > 0 and min_in_service(desired, min_healthy_percentage) >= desired


def check_preferences(
    prefs: RefreshPreferences,
    *,
    desired: int | None = None,
    max_size: int | None = None,
    prefix: str = "",
) -> list[InvalidInputError]:
    """Every problem with ``prefs`` (and the room they need), each naming the field.

    Args:
        desired, max_size: the group's planned size, to check that launching before
            terminating has room (AWS will not go past ``max_size``).
        prefix: put before each field name (the config passes ``bakery:fleet.``).
    """
    problems: list[InvalidInputError] = []

    def bad(name: str, value: object, fix: str) -> None:
        problems.append(InvalidInputError(prefix + name, value, fix))

    low, high = prefs.min_healthy_percentage, prefs.max_healthy_percentage
    if not 0 <= low <= 100:
        bad(
            "min_healthy_percentage",
            low,
            "give a whole percentage from 0 to 100 (90 keeps 90% of the fleet serving)",
        )
    if high is not None and not 100 <= high <= 200:
        bad(
            "max_healthy_percentage",
            high,
            "give a whole percentage from 100 to 200 (above 100 launches before terminating)",
        )
    elif high is not None and high - low > 100:
        bad(
            "max_healthy_percentage",
            high,
            f"AWS allows at most 100 above min_healthy_percentage ({low}); "
            f"give at most {low + 100}",
        )
    for name, value, top in (
        ("instance_warmup_s", prefs.instance_warmup_s, None),
        ("checkpoint_delay_s", prefs.checkpoint_delay_s, MAX_DELAY_S),
        ("bake_time_s", prefs.bake_time_s, MAX_DELAY_S),
    ):
        if value is not None and (value < 0 or (top is not None and value > top)):
            bad(name, value, f"give 0 or more seconds{f' (at most {top})' if top else ''}")
    points = list(prefs.checkpoint_percentages)
    if points and (
        any(not 1 <= p <= 100 for p in points) or points != sorted(set(points)) or points[-1] != 100
    ):
        bad(
            "checkpoint_percentages",
            points,
            "give unique, ascending percentages from 1 to 100 ending at 100 "
            "(e.g. [20, 50, 100]) so that every instance is replaced",
        )
    if points and prefs.checkpoint_delay_s is None:
        bad(
            "checkpoint_delay_s",
            None,
            "checkpoints need a delay: without one AWS waits 3600 s at each checkpoint; "
            "give the seconds to wait (e.g. 300)",
        )
    if not points and prefs.checkpoint_delay_s is not None:
        bad(
            "checkpoint_delay_s",
            prefs.checkpoint_delay_s,
            "a delay needs checkpoint_percentages (AWS refuses it alone); set both or neither",
        )
    for name in ("standby_instances", "scale_in_protected_instances"):
        value = getattr(prefs, name)
        if value not in INSTANCE_CHOICES:
            bad(name, value, 'give "Ignore" (default), "Wait" or "Terminate"')
    alarms = list(prefs.alarm_names)
    if len(alarms) > MAX_ALARMS or any(not str(a).strip() for a in alarms):
        bad("alarm_names", alarms, f"give up to {MAX_ALARMS} CloudWatch alarm names")
    if desired is not None and max_size is not None and desired > 0:
        resolved = prefs.for_capacity(desired)
        peak = max(desired, max_in_group(desired, resolved.max_healthy_percentage))
        if peak > max_size:
            bad(
                "max_size",
                max_size,
                f"a rolling refresh of {desired} instance(s) launches before it terminates "
                f"and needs room for {peak}; give max_size >= {peak}, or set "
                "max_healthy_percentage to 100 to accept a dip in capacity",
            )
    return problems


@dataclass(frozen=True)
class RolloutEstimate:
    """How long a rollout should take, and the parts of that sum (for the warning)."""

    seconds: float
    parts: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        detail = ", ".join(f"{k} {v:.0f}s" for k, v in self.parts.items() if v)
        return f"{self.seconds:.0f}s ({detail})"


def estimate_rollout(
    prefs: RefreshPreferences,
    *,
    desired: int,
    grace_s: int,
    default_instance_warmup_s: int | None = None,
    blue_green: bool = False,
) -> RolloutEstimate:
    """A preview-time estimate of a rollout's duration (see LAUNCH_S, DRAIN_S).

    Rolling: one batch per replacement step (as many instances at once as the
    min/max healthy range allows), each taking launch + warm-up, plus each
    checkpoint's delay and the bake time. Blue/green: one launch + warm-up for the
    whole new group, then the old group's drain.
    """
    warmup = prefs.instance_warmup_s
    if warmup is None:
        warmup = default_instance_warmup_s if default_instance_warmup_s is not None else grace_s
    step = LAUNCH_S + warmup
    if blue_green:
        return RolloutEstimate(
            float(step + DRAIN_S), {"launch+warmup": float(step), "drain": float(DRAIN_S)}
        )
    desired = max(desired, 1)
    resolved = prefs.for_capacity(desired)
    spare = desired - min_in_service(desired, resolved.min_healthy_percentage)
    extra = max_in_group(desired, resolved.max_healthy_percentage) - desired
    batch = max(1, spare + max(0, extra))
    batches = math.ceil(desired / batch)
    checkpoints = len(resolved.checkpoint_percentages) * (resolved.checkpoint_delay_s or 0)
    bake = resolved.bake_time_s or 0
    parts = {
        "batches": float(batches * step),
        "checkpoints": float(checkpoints),
        "bake": float(bake),
    }
    return RolloutEstimate(sum(parts.values()), parts)
