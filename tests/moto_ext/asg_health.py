"""moto extension: group health as AWS documents it, beyond what moto models.

moto 5.2 marks every instance Healthy, reports every registered target ``healthy``,
returns no scaling activities, and deletes a group with instances without
ForceDelete. This models, each from the page named:

* Target-group health is separate from Auto Scaling health, and during the health
  check grace period Auto Scaling marks no instance unhealthy even when its ELB
  checks fail (https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html):
  instances launched from an image given to ``mark_targets_unhealthy`` report
  DescribeTargetHealth ``unhealthy`` (Target.FailedHealthChecks) while the group
  still reports them ``Healthy`` (the grace period never ends here; see divergences).
* Failed scaling activities (DescribeScalingActivities,
  https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html):
  ``fail_scaling_activity`` records a Failed activity with its StatusMessage, listed
  most recent first.
* DeleteAutoScalingGroup without ForceDelete refuses a group that still has
  instances ("If the group has instances or scaling activities in progress, you must
  specify the option to force the deletion",
  https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DeleteAutoScalingGroup.html):
  ResourceInUse. Every deletion is recorded in ``DELETIONS`` with its ForceDelete.
* New instances of a group with target groups are registered with them (moto does
  so only on scaling, not on the instance refresh model's replacements).

Divergences that remain: time does not pass, so the grace period never ends and an
ELB health check type never turns target failures into Unhealthy instances;
deregistration delay and lifecycle hooks are instant; activities are only the
scripted failures, not moto's launches.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.models import FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

_UNHEALTHY_TARGET_IMAGES: set[str] = set()
_ACTIVITIES: dict[str, list[dict[str, Any]]] = {}
DELETIONS: list[tuple[str, bool]] = []


class GroupInUseError(AutoscalingClientError):
    code = "ResourceInUse"

    def __init__(self) -> None:
        super().__init__(
            "You cannot delete an AutoScalingGroup while there are instances or pending "
            "Spot instance request(s) still in the group."
        )


def mark_targets_unhealthy(image_id: str) -> None:
    """Instances of ``image_id`` fail their target-group health checks (ASG: Healthy)."""
    _UNHEALTHY_TARGET_IMAGES.add(image_id)


def fail_scaling_activity(group: str, message: str) -> None:
    """Record a Failed scaling activity of ``group`` with ``message``, as of now."""
    _ACTIVITIES.setdefault(group, []).insert(
        0,
        {
            "ActivityId": str(uuid.uuid4()),
            "AutoScalingGroupName": group,
            "Description": f"Launching a new EC2 instance. Status Reason: {message}",
            "Cause": "At 2026-12-02T00:00:00Z an instance was started in response to a "
            "difference between desired and actual capacity.",
            "StartTime": datetime.now(UTC),
            "EndTime": datetime.now(UTC),
            "StatusCode": "Failed",
            "StatusMessage": message,
            "Progress": 100,
        },
    )


def register_new_instances(group: FakeAutoScalingGroup) -> None:
    """Register the group's instances with its target groups (as a scale-out would)."""
    if group.target_group_arns:
        group.autoscaling_backend.update_attached_target_groups(group.name)


_original_health_for = FakeTargetGroup.health_for
_original_delete = AutoScalingResponse.delete_auto_scaling_group
_original_activities = AutoScalingResponse.describe_scaling_activities


def _health_for(self: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any) -> Any:
    status = _original_health_for(self, target, ec2_backend)
    if status.status == "healthy" and str(target["Id"]).startswith("i-"):
        instance = ec2_backend.get_instance_by_id(target["Id"])
        if instance is not None and instance.image_id in _UNHEALTHY_TARGET_IMAGES:
            return FakeHealthStatus(
                target["Id"],
                status.port,
                self.health_check_port,
                "unhealthy",
                "Target.FailedHealthChecks",
                "Health checks failed",
            )
    return status


def _describe_scaling_activities(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    limit = int(self._get_param("MaxRecords") or 100)
    return ActionResult({"Activities": _ACTIVITIES.get(name, [])[:limit]})


def _delete_auto_scaling_group(self: AutoScalingResponse) -> Any:
    name = self._get_param("AutoScalingGroupName")
    force = str(self._get_param("ForceDelete") or "false").lower() == "true"
    group = self.autoscaling_backend.autoscaling_groups.get(name)
    if group is not None and group.instance_states and not force:
        raise GroupInUseError()
    DELETIONS.append((name, force))
    return _original_delete(self)


@contextmanager
def installed() -> Iterator[None]:
    """Patch moto for the duration of the block (in-process or ThreadedMotoServer)."""
    FakeTargetGroup.health_for = _health_for  # type: ignore[method-assign]
    AutoScalingResponse.describe_scaling_activities = _describe_scaling_activities  # type: ignore[method-assign]
    AutoScalingResponse.delete_auto_scaling_group = _delete_auto_scaling_group  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeTargetGroup.health_for = _original_health_for  # type: ignore[method-assign]
        AutoScalingResponse.describe_scaling_activities = _original_activities  # type: ignore[method-assign]
        AutoScalingResponse.delete_auto_scaling_group = _original_delete  # type: ignore[method-assign]
        _UNHEALTHY_TARGET_IMAGES.clear()
        _ACTIVITIES.clear()
        DELETIONS.clear()
