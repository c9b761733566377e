"""moto extension: instance refreshes, and the fleet behaviour a rollout relies on.

moto 5.2 implements none of StartInstanceRefresh, DescribeInstanceRefreshes,
CancelInstanceRefresh and RollbackInstanceRefresh (NotImplementedError in process,
HTTP 500 from a server). This adds them, modelled on the AWS API reference (2026):

* one active refresh per group (else ``InstanceRefreshInProgress``);
* ``DesiredConfiguration`` is written to the group only when the refresh succeeds;
* a rollback (auto or RollbackInstanceRefresh) puts back the configuration the group
  had when the refresh started and replaces the instances the refresh launched; it
  needs a desired configuration and an explicit version (else
  ``IrreversibleInstanceRefresh`` or, at start with AutoRollback, ``ValidationError``).

Time is a script, not a clock: each DescribeInstanceRefreshes of a group moves its
active refresh one step along a list of statuses. ``script_next_refresh`` sets the
next refresh's steps; without a script a refresh goes InProgress -> Successful, or,
when the new image is marked unhealthy, InProgress -> InProgress -> RollbackInProgress
-> RollbackSuccessful (Failed without AutoRollback). Entering InProgress replaces one
batch of instances (sized by MinHealthyPercentage), Successful the rest.

And three fidelity fixes moto needs for rollouts:

* DescribeAutoScalingGroups reports, per instance, the launch template version the
  instance was launched from (moto reports the template's default version for all).
* DeleteLaunchConfiguration refuses a configuration a group still uses
  (AWS: ResourceInUse; moto deletes it).
* Instances launched from an image given to ``mark_unhealthy`` report HealthStatus
  Unhealthy: a stand-in for an image whose instances fail EC2/ELB health checks
  (moto's instances are always Healthy).

Patches classes, so it works in process (mock_aws) and in a ThreadedMotoServer.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult

ACTIVE = frozenset({"Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"})
UNHEALTHY_REASON = "Instances launched with the desired configuration failed their health checks"


class InstanceRefreshInProgressError(AutoscalingClientError):
    code = "InstanceRefreshInProgress"

    def __init__(self) -> None:
        super().__init__(
            "An Instance Refresh is already in progress and blocks the execution of this "
            "Instance Refresh."
        )


class ActiveInstanceRefreshNotFoundError(AutoscalingClientError):
    code = "ActiveInstanceRefreshNotFound"

    def __init__(self, group: str) -> None:
        super().__init__(f"No in progress or pending Instance Refresh found for {group}.")


class IrreversibleInstanceRefreshError(AutoscalingClientError):
    code = "IrreversibleInstanceRefresh"

    def __init__(self, why: str) -> None:
        super().__init__(why)


class ResourceInUseError(AutoscalingClientError):
    code = "ResourceInUse"

    def __init__(self, name: str, group: str) -> None:
        super().__init__(
            f"Cannot delete launch configuration {name} because it is attached to "
            f"AutoScalingGroup {group}"
        )


@dataclass
class Script:
    """The statuses a refresh steps through, one per DescribeInstanceRefreshes."""

    statuses: list[str]
    reason: str = ""
    rollback_reason: str = ""


_SCRIPTS: dict[str, deque[Script]] = {}
_UNHEALTHY_IMAGES: set[str] = set()


def script_next_refresh(
    group: str, *statuses: str, reason: str = "", rollback_reason: str = ""
) -> None:
    """Make the next refresh of ``group`` step through ``statuses`` (after Pending)."""
    _SCRIPTS.setdefault(group, deque()).append(Script(list(statuses), reason, rollback_reason))


def mark_unhealthy(image_id: str) -> None:
    """Instances launched from ``image_id`` from now on report HealthStatus Unhealthy."""
    _UNHEALTHY_IMAGES.add(image_id)


@dataclass
class _Refresh:
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

    def describe(self, group: FakeAutoScalingGroup | None) -> dict[str, Any]:
        to_update = 0
        if group is not None and self.desired and self.status in ACTIVE:
            to_update = sum(1 for s in group.instance_states if not _runs(s, self.desired))
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


def _refreshes(backend: AutoScalingBackend) -> dict[str, list[_Refresh]]:
    return backend.__dict__.setdefault("_bakery_instance_refreshes", {})


def _group_spec(group: FakeAutoScalingGroup) -> dict[str, Any]:
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


def _runs(state: InstanceState, spec: dict[str, Any]) -> bool:
    mine = getattr(state, "_bakery_launched_from", None) or {}
    if "LaunchTemplate" in mine:
        lt = mine["LaunchTemplate"]
        return bool(
            lt["LaunchTemplateId"] == spec.get("LaunchTemplateId")
            and lt["Version"] == str(spec.get("Version"))
        )
    return bool(mine.get("LaunchConfigurationName") == spec.get("LaunchConfigurationName"))


def _use(group: FakeAutoScalingGroup, spec: dict[str, Any]) -> None:
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


def _replace(
    group: FakeAutoScalingGroup, states: list[InstanceState], spec: dict[str, Any]
) -> set[str]:
    """Terminate ``states`` and launch as many instances from ``spec``."""
    if not states:
        return set()
    saved = _group_spec(group)
    gone = {s.instance.id for s in states}
    group.instance_states = [s for s in group.instance_states if s.instance.id not in gone]
    group.autoscaling_backend.ec2_backend.terminate_instances(list(gone))
    before = {s.instance.id for s in group.instance_states}
    _use(group, spec)
    try:
        group.replace_autoscaling_group_instances(len(gone), group.get_propagated_tags())
    finally:
        _use(group, saved)
    return {s.instance.id for s in group.instance_states} - before


def _enter(backend: AutoScalingBackend, refresh: _Refresh, status: str, script: Script) -> None:
    group = backend.autoscaling_groups.get(refresh.group)
    refresh.status = status
    now = datetime.now(UTC)
    desired = {"LaunchTemplate": refresh.desired} if refresh.desired else None
    if group is None:
        refresh.status, refresh.status_reason, refresh.end = "Failed", "Group deleted", now
        return
    stale = [s for s in group.instance_states if desired and not _runs(s, refresh.desired or {})]
    if status == "InProgress" and desired and not refresh.launched and stale:
        healthy = int(refresh.preferences.get("MinHealthyPercentage", 90))
        batch = max(1, math.floor(len(group.instance_states) * (100 - healthy) / 100))
        refresh.launched |= _replace(group, stale[:batch], desired)
    elif status == "Successful" and desired:
        refresh.launched |= _replace(group, stale, desired)
        _use(group, desired)
        refresh.end = now
    elif status == "RollbackInProgress":
        refresh.rollback = {
            "RollbackReason": script.rollback_reason
            or "Instance refresh failed and auto rollback is enabled",
            "RollbackStartTime": now,
            "PercentageCompleteOnRollback": 0,
            "InstancesToUpdateOnRollback": len(refresh.launched),
        }
        refresh.status_reason = script.reason or UNHEALTHY_REASON
    elif status == "RollbackSuccessful":
        back = [s for s in group.instance_states if not _runs(s, _flat(refresh.previous))]
        _replace(group, back, refresh.previous)
        _use(group, refresh.previous)
        if refresh.rollback is not None:
            refresh.rollback["PercentageCompleteOnRollback"] = 100
            refresh.rollback["InstancesToUpdateOnRollback"] = 0
        refresh.end = now
    elif status in ("Failed", "Cancelled", "RollbackFailed"):
        refresh.status_reason = (
            refresh.status_reason
            or script.reason
            or (UNHEALTHY_REASON if status != "Cancelled" else "Cancelled by request")
        )
        if status == "RollbackFailed" and refresh.rollback is not None:
            refresh.rollback.setdefault("RollbackReason", script.rollback_reason)
        refresh.end = now


def _flat(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec.get("LaunchTemplate", spec))


def _advance(backend: AutoScalingBackend, group_name: str) -> None:
    for refresh in _refreshes(backend).get(group_name, []):
        if refresh.status in ACTIVE and refresh.steps:
            status = refresh.steps.popleft()
            _enter(backend, refresh, status, Script([], refresh.reason, refresh.rollback_reason))


def _default_steps(
    backend: AutoScalingBackend, desired: dict[str, Any] | None, auto_rollback: bool
) -> list[str]:
    if desired:
        template = backend.ec2_backend.get_launch_template(desired["LaunchTemplateId"])
        image = template.get_version(str(desired["Version"])).image_id
        if image in _UNHEALTHY_IMAGES:
            tail = ["RollbackInProgress", "RollbackSuccessful"] if auto_rollback else ["Failed"]
            return ["InProgress", "InProgress", *tail]
    return ["InProgress", "Successful"]


def _explicit(version: Any) -> bool:
    return str(version or "").isdigit()


def _start_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    group = backend.autoscaling_groups.get(name)
    if group is None:
        raise ValidationError(
            f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"
        )
    prefs = dict(self._get_param("Preferences") or {})
    desired_cfg = self._get_param("DesiredConfiguration") or {}
    desired = dict(desired_cfg["LaunchTemplate"]) if desired_cfg.get("LaunchTemplate") else None
    if desired is not None:
        desired["Version"] = str(desired.get("Version") or "$Default")
    healthy = prefs.get("MinHealthyPercentage", 90)
    if not 0 <= int(healthy) <= 100:
        raise ValidationError("MinHealthyPercentage must be between 0 and 100")
    auto_rollback = bool(prefs.get("AutoRollback", False))
    if auto_rollback and (
        desired is None
        or not _explicit(desired["Version"])
        or not _explicit(_group_spec(group).get("LaunchTemplate", {}).get("Version", "0"))
    ):
        raise ValidationError(
            "AutoRollback needs a DesiredConfiguration and explicit launch template "
            "versions (not $Latest or $Default)"
        )
    runs = _refreshes(backend).setdefault(name, [])
    if any(r.status in ACTIVE for r in runs):
        raise InstanceRefreshInProgressError()
    queued = _SCRIPTS.get(name)
    script = queued.popleft() if queued else None
    steps = script.statuses if script else _default_steps(backend, desired, auto_rollback)
    refresh = _Refresh(
        refresh_id=str(uuid.uuid4()),
        group=name,
        preferences={"MinHealthyPercentage": int(healthy), **prefs},
        desired=desired,
        previous=_group_spec(group),
        steps=deque(steps),
        reason=script.reason if script else "",
        rollback_reason=script.rollback_reason if script else "",
        total=len(group.instance_states),
    )
    runs.insert(0, refresh)  # most recent first, as AWS lists them
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


def _describe_instance_refreshes(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    wanted = set(self._get_param("InstanceRefreshIds") or [])
    _advance(backend, name)
    group = backend.autoscaling_groups.get(name)
    found = [
        r.describe(group)
        for r in _refreshes(backend).get(name, [])
        if not wanted or r.refresh_id in wanted
    ]
    return ActionResult({"InstanceRefreshes": found})


def _active(backend: AutoScalingBackend, name: str) -> _Refresh:
    for refresh in _refreshes(backend).get(name, []):
        if refresh.status in ACTIVE:
            return refresh
    raise ActiveInstanceRefreshNotFoundError(name)


def _cancel_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    refresh = _active(self.autoscaling_backend, name)
    refresh.status = "Cancelling"
    refresh.steps = deque(["Cancelled"])
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


def _rollback_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    refresh = _active(self.autoscaling_backend, name)
    if not refresh.desired or not _explicit(refresh.desired.get("Version")):
        raise IrreversibleInstanceRefreshError(
            "The instance refresh has no desired configuration with an explicit version"
        )
    refresh.rollback_reason = refresh.rollback_reason or "Rollback requested by user"
    _enter(
        self.autoscaling_backend,
        refresh,
        "RollbackInProgress",
        Script([], refresh.reason or "Rollback requested", refresh.rollback_reason),
    )
    refresh.steps = deque(["RollbackSuccessful"])
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


_original_replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
_original_launch_template = InstanceState.launch_template
_original_delete_lc = AutoScalingBackend.delete_launch_configuration


def _replace_instances(
    self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]
) -> None:
    before = {id(s) for s in self.instance_states}
    _original_replace(self, count_needed, propagated_tags)
    launched_from = _group_spec(self)
    for state in self.instance_states:
        if id(state) in before:
            continue
        state._bakery_launched_from = launched_from  # type: ignore[attr-defined]
        if state.instance.image_id in _UNHEALTHY_IMAGES:
            state.health_status = "Unhealthy"


def _instance_launch_template(self: InstanceState) -> dict[str, Any] | None:
    launched = getattr(self, "_bakery_launched_from", None)
    if launched is None:
        return _original_launch_template.fget(self)  # type: ignore[attr-defined]
    return launched.get("LaunchTemplate")


def _delete_launch_configuration(self: AutoScalingBackend, launch_configuration_name: str) -> None:
    for group in self.autoscaling_groups.values():
        if getattr(group, "launch_configuration_name", None) == launch_configuration_name:
            raise ResourceInUseError(launch_configuration_name, group.name)
    if launch_configuration_name not in self.launch_configurations:
        raise ValidationError(
            f"Launch configuration name not found - Launch configuration "
            f"{launch_configuration_name} not found"
        )
    _original_delete_lc(self, launch_configuration_name)


_ACTIONS = {
    "start_instance_refresh": _start_instance_refresh,
    "describe_instance_refreshes": _describe_instance_refreshes,
    "cancel_instance_refresh": _cancel_instance_refresh,
    "rollback_instance_refresh": _rollback_instance_refresh,
}


@contextmanager
def installed() -> Iterator[None]:
    """Patch moto for the duration of the block (in-process or ThreadedMotoServer)."""
    for name, fn in _ACTIONS.items():
        setattr(AutoScalingResponse, name, fn)
    FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace_instances  # type: ignore[method-assign]
    InstanceState.launch_template = property(_instance_launch_template)  # type: ignore[method-assign, assignment]
    AutoScalingBackend.delete_launch_configuration = _delete_launch_configuration  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in _ACTIONS:
            delattr(AutoScalingResponse, name)
        FakeAutoScalingGroup.replace_autoscaling_group_instances = _original_replace  # type: ignore[method-assign]
        InstanceState.launch_template = _original_launch_template  # type: ignore[method-assign]
        AutoScalingBackend.delete_launch_configuration = _original_delete_lc  # type: ignore[method-assign]
        _SCRIPTS.clear()
        _UNHEALTHY_IMAGES.clear()
