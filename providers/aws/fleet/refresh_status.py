"""What an instance refresh is and how to wait for it: its target, its state, its end.

Statuses are InstanceRefreshStatus in botocore's autoscaling service-2.json; the
outcome notes follow the RollbackInstanceRefresh and StartInstanceRefresh API
references (a rollback restores the configuration the group had when the refresh
started; without a desired configuration or with ``$Latest``/``$Default`` there is
none). A failed scaling activity fails the wait at once
(https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.aws.callbacks import Log
from providers.aws.errors import (
    RefreshFailedError,
    RefreshTimeoutError,
    RolloutError,
    WaitFailedError,
    WaitTimeoutError,
)
from providers.aws.fleet.groups import failed_activity
from providers.aws.wait_table import WAITS
from providers.aws.waits import Outcome, Pacing, WaitSpec, wait_for

ACTIVE_STATUSES = frozenset({"Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"})


@dataclass(frozen=True)
class TemplateVersion:
    """A launch template and one explicit version number of it."""

    template_id: str
    version: str

    def to_api(self) -> dict[str, str]:
        """The ``LaunchTemplate`` specification AWS takes and returns."""
        return {"LaunchTemplateId": self.template_id, "Version": self.version}

    def matches(self, spec: Mapping[str, Any] | None) -> bool:
        """Whether an AWS ``LaunchTemplate`` specification names this version."""
        if not spec:
            return False
        return (
            spec.get("LaunchTemplateId") == self.template_id
            and str(spec.get("Version")) == self.version
        )

    def __str__(self) -> str:
        return f"launch template {self.template_id} version {self.version}"


@dataclass(frozen=True)
class RefreshState:
    """What one look at a refresh saw (compared by ``every`` to spot changes)."""

    refresh_id: str
    status: str
    percentage_complete: int = 0
    instances_to_update: int = 0

    @classmethod
    def of(cls, refresh: Mapping[str, Any]) -> RefreshState:
        return cls(
            refresh["InstanceRefreshId"],
            refresh["Status"],
            int(refresh.get("PercentageComplete") or 0),
            int(refresh.get("InstancesToUpdate") or 0),
        )

    def __str__(self) -> str:
        return (
            f"{self.status}, {self.percentage_complete}% complete, "
            f"{self.instances_to_update} instance(s) to update"
        )


def describe_refresh(autoscaling: Any, group: str, refresh_id: str) -> dict[str, Any]:
    found = autoscaling.describe_instance_refreshes(
        AutoScalingGroupName=group, InstanceRefreshIds=[refresh_id]
    ).get("InstanceRefreshes", [])
    if not found:
        # AWS keeps refreshes for weeks; an unknown id is a bug, not a state.
        raise LookupError(f"instance refresh {refresh_id} of group {group} not found")
    return dict(found[0])


def _rollback_note(refresh: Mapping[str, Any], target: TemplateVersion) -> str:
    status = refresh["Status"]
    details = refresh.get("RollbackDetails") or {}
    why = details.get("RollbackReason") or "no reason given"
    if status == "RollbackSuccessful":
        return (
            f"Auto-rollback succeeded ({why}): the group is back on the configuration it "
            "had before the refresh, and instances replaced so far were replaced again "
            "with it; the fleet keeps serving the previous image"
        )
    if status == "RollbackFailed":
        done = details.get("PercentageCompleteOnRollback")
        return (
            f"Auto-rollback FAILED ({why}; {done if done is not None else '?'}% rolled "
            "back): the group may run a mix of old and new instances; inspect it with "
            "`aws autoscaling describe-instance-refreshes --auto-scaling-group-name "
            f"{refresh.get('AutoScalingGroupName', '')}` before anything else"
        )
    if status == "Cancelled":
        return (
            "It was cancelled (CancelInstanceRefresh, by a user or another tool) and "
            f"no rollback ran: instances replaced so far run {target}, the group still "
            "references its previous version"
        )
    return (
        f"No rollback ran (auto_rollback off or not possible): instances replaced so far "
        f"run {target}, the group still references its previous version"
    )


def wait_for_refresh(
    autoscaling: Any,
    group: str,
    refresh_id: str,
    target: TemplateVersion,
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    since: datetime | None = None,
) -> RefreshState:
    """Wait until the refresh is Successful.

    A failed scaling activity of the group started after ``since`` (default: the
    refresh's StartTime) fails the wait at once: AWS would retry the launch until the
    refresh times out, an hour later.

    Args:
        target: the version the refresh goes to, for messages.
        spec: cadence and deadline (the user's rollout timeout).
        log: receives a progress line per status change, else one per
            ``pacing.progress_every_s``: status, PercentageComplete, InstancesToUpdate.

    Returns:
        The last state seen (status Successful).

    Raises:
        RefreshFailedError: Failed, Cancelled, RollbackSuccessful or RollbackFailed;
            the message carries StatusReason and the rollback's outcome.
        RefreshTimeoutError: the deadline passed; the refresh carries on in AWS.
        RolloutError: a scaling activity failed (status ``ScalingActivityFailed``);
            the refresh may carry on in AWS.

    AWS calls: DescribeInstanceRefreshes, DescribeScalingActivities (polls).
    """
    pacing = pacing or Pacing()
    waiter = WAITS["instance_refresh_successful"]
    last: dict[str, dict[str, Any]] = {}

    def probe() -> tuple[Outcome, object]:
        refresh = describe_refresh(autoscaling, group, refresh_id)
        last["refresh"] = refresh
        state = RefreshState.of(refresh)
        outcome = waiter.acceptors.classify([state.status])
        if outcome is Outcome.RETRY:
            start = since or refresh.get("StartTime")
            activity = failed_activity(
                autoscaling, group, start if isinstance(start, datetime) else None
            )
            if activity:
                raise RolloutError(
                    group,
                    refresh_id,
                    "ScalingActivityFailed",
                    f"a scaling activity failed during the refresh: {activity}; fix the cause "
                    "(image, instance type, capacity, instance profile), then run `pulumi up` "
                    "again (the refresh may still be running in AWS: check "
                    "`aws autoscaling describe-instance-refreshes`)",
                )
        return outcome, state

    resource = f"instance refresh {refresh_id} of group {group}"
    try:
        state = wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log)
    except WaitFailedError as exc:
        refresh = last["refresh"]
        raise RefreshFailedError(
            group,
            refresh_id,
            refresh["Status"],
            refresh.get("StatusReason", ""),
            str(target),
            _rollback_note(refresh, target),
        ) from exc
    except WaitTimeoutError as exc:
        seen = RefreshState.of(last["refresh"])
        raise RefreshTimeoutError(
            group, refresh_id, seen.status, seen.percentage_complete, exc.elapsed_s
        ) from exc
    assert isinstance(state, RefreshState)
    return state
