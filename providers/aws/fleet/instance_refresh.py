"""Rolling an image out by instance refresh: start or adopt one, wait for it to end.

The refresh's *desired configuration* is an explicit launch template version, with
auto-rollback. The group keeps referencing its previous version while the refresh
runs; AWS writes the desired configuration to the group only once the refresh
succeeds, and a rollback restores the configuration the group had when the refresh
started. (A group updated to the new version *before* the refresh would "roll back"
to the bad version; a group on ``$Latest``/``$Default`` can neither start a refresh
by changing nor roll back.) A refresh an interrupted run started is adopted, not
duplicated. Preferences (fleet_rules.RefreshPreferences) are resolved for the group's
current desired capacity, so a small group launches before it terminates.

Waiting on a refresh (its states, outcome notes, the failed-activity fast fail) is
``refresh_status.py``'s job. Once the refresh succeeded, a group with target groups
is waited on until every instance is healthy in each of them.

AWS sources (read 2026-12): StartInstanceRefresh, RollbackInstanceRefresh and
RefreshPreferences API references
(https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html:
"Once the instance refresh succeeds, Amazon EC2 Auto Scaling updates the settings of
the Auto Scaling group to reflect the new desired configuration"; rollback is not
supported without a desired configuration or with ``$Latest``/``$Default``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.callbacks import Log
from providers.aws.errors import (
    RefreshTimeoutError,
    RolloutError,
    WaitTimeoutError,
)
from providers.aws.fleet.groups import (
    GroupHealth,
    WatchedGroup,
    describe_group,
    quiet,
    wait_for_group_healthy,
)
from providers.aws.fleet.refresh_status import (
    ACTIVE_STATUSES,
    RefreshState,
    TemplateVersion,
    describe_refresh,
    wait_for_refresh,
)
from providers.aws.rules.rollout import RefreshPreferences
from providers.aws.wait_table import WAITS
from providers.aws.waits import Outcome, Pacing, WaitSpec, wait_for

__all__ = [
    "ACTIVE_STATUSES",
    "RefreshState",
    "RolloutResult",
    "TemplateVersion",
    "describe_instance_refreshes",
    "find_instance_refresh",
    "roll_out_template",
    "start_instance_refresh",
    "wait_for_refresh",
]

# botocore (1.44, autoscaling paginators-1.json, read 2026-12) ships no paginator for
# DescribeInstanceRefreshes, though the operation pages by NextToken/MaxRecords like
# its siblings: this is the entry that file would hold, for botocore's own Paginator.
_REFRESHES_PAGING = {
    "input_token": "NextToken",
    "output_token": "NextToken",
    "limit_key": "MaxRecords",
    "result_key": "InstanceRefreshes",
}


# InstanceRefreshStatus values (botocore autoscaling service-2.json) that can still change.
@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended: the refresh that did it, or none if none was needed."""

    refresh_id: str
    status: str  # "Successful", or "AlreadyCurrent" when the group ran the version
    health: GroupHealth | None = None


def describe_instance_refreshes(autoscaling: Any, group: str) -> list[dict[str, Any]]:
    """Every refresh of ``group`` AWS remembers, most recent first.

    AWS calls: DescribeInstanceRefreshes (paginated).
    """
    from botocore.paginate import Paginator  # with the client: botocore is loaded by then

    model = autoscaling.meta.service_model.operation_model("DescribeInstanceRefreshes")
    paginator = Paginator(autoscaling.describe_instance_refreshes, _REFRESHES_PAGING, model)
    return list(paginator.paginate(AutoScalingGroupName=group).search("InstanceRefreshes[]"))


def _desired_template(refresh: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return (refresh.get("DesiredConfiguration") or {}).get("LaunchTemplate")


def find_instance_refresh(
    autoscaling: Any, group: str, target: TemplateVersion
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The group's active refresh, split by whether it goes to ``target``.

    Returns:
        ``(mine, other)``: the active refresh towards ``target`` (to adopt), or the
        active refresh towards anything else (to wait out); at most one is set, as a
        group has at most one active refresh.

    AWS calls: DescribeInstanceRefreshes.
    """
    for refresh in describe_instance_refreshes(autoscaling, group):
        if refresh["Status"] in ACTIVE_STATUSES:
            if target.matches(_desired_template(refresh)):
                return refresh, None
            return None, refresh
    return None, None


def group_runs(autoscaling: Any, group: str, target: TemplateVersion) -> bool:
    """Whether the group references ``target`` and every instance was launched from it.

    AWS calls: DescribeAutoScalingGroups.
    """
    found = describe_group(autoscaling, group)
    if found is None:
        return False
    if not target.matches(found.get("LaunchTemplate")):
        return False
    return all(target.matches(i.get("LaunchTemplate")) for i in found.get("Instances", []))


# --- Rolling: instance refresh -------------------------------------------------------


def _remaining(spec: WaitSpec, started: float, pacing: Pacing) -> WaitSpec:
    return spec.with_deadline(max(0.0, spec.deadline_s - (pacing.clock() - started)))


def _wait_out(
    autoscaling: Any, group: str, refresh: Mapping[str, Any], spec: WaitSpec, pacing: Pacing
) -> None:
    """Wait until a refresh someone else started (towards another version) ends."""
    refresh_id = refresh["InstanceRefreshId"]
    waiter = WAITS["instance_refresh_ended"]
    last: dict[str, RefreshState] = {"state": RefreshState.of(refresh)}

    def probe() -> tuple[Outcome, object]:
        state = RefreshState.of(describe_refresh(autoscaling, group, refresh_id))
        last["state"] = state
        return waiter.acceptors.classify([state.status]), state

    try:
        resource = f"instance refresh {refresh_id} of group {group}"
        wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec)
    except WaitTimeoutError as exc:
        state = last["state"]
        raise RefreshTimeoutError(
            group, refresh_id, state.status, state.percentage_complete, exc.elapsed_s
        ) from exc


def start_instance_refresh(
    autoscaling: Any,
    group: str,
    target: TemplateVersion,
    prefs: RefreshPreferences,
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log = quiet,
) -> str:
    """Start a refresh of ``group`` to ``target``, or adopt the one already going there.

    A refresh towards ``target`` that an interrupted run started is adopted; one
    towards another configuration (someone else's, or a superseded run's) is waited
    out first, since AWS allows one active refresh per group. If another run starts
    one between our look and our start (InstanceRefreshInProgress), look again.

    Returns:
        The refresh id.

    Raises:
        RefreshTimeoutError: someone else's refresh outlasted ``spec``'s deadline.

    AWS calls: DescribeInstanceRefreshes, [DescribeInstanceRefreshes (polls) while
    another refresh ends], StartInstanceRefresh (Strategy Rolling, DesiredConfiguration
    = the explicit version, Preferences).
    """
    pacing = pacing or Pacing()
    spec = spec or WAITS["instance_refresh_ended"].spec
    started = pacing.clock()
    # Each pass either returns or waits a refresh out; three passes cover a race lost
    # twice. The deadline bounds the waits.
    for _ in range(3):
        mine, other = find_instance_refresh(autoscaling, group, target)
        if mine is not None:
            log(f"adopting instance refresh {mine['InstanceRefreshId']} ({mine['Status']})")
            return str(mine["InstanceRefreshId"])
        if other is not None:
            log(
                f"waiting for instance refresh {other['InstanceRefreshId']} of group {group} "
                f"to another configuration to end ({other['Status']})"
            )
            _wait_out(autoscaling, group, other, _remaining(spec, started, pacing), pacing)
            continue
        try:
            started_id = autoscaling.start_instance_refresh(
                AutoScalingGroupName=group,
                Strategy="Rolling",
                DesiredConfiguration={"LaunchTemplate": target.to_api()},
                Preferences=prefs.to_api(_desired(autoscaling, group)),
            )["InstanceRefreshId"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InstanceRefreshInProgress":
                raise
            continue
        log(f"started instance refresh {started_id} of group {group} to {target}")
        return str(started_id)
    mine, _other = find_instance_refresh(autoscaling, group, target)
    if mine is not None:
        return str(mine["InstanceRefreshId"])
    raise RolloutError(
        group,
        "(none)",
        "NotStarted",
        "other instance refreshes kept taking the group (AWS allows one at a time); "
        "find who starts them, then run `pulumi up` again",
    )


def _desired(autoscaling: Any, group: str) -> int:
    found = describe_group(autoscaling, group)
    return int((found or {}).get("DesiredCapacity") or 0)


def roll_out_template(
    autoscaling: Any,
    ec2: Any,
    group: str,
    target: TemplateVersion,
    image_id: str,
    prefs: RefreshPreferences,
    *,
    elbv2: Any = None,
    target_groups: Sequence[str] = (),
    timeout_s: float | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> RolloutResult:
    """Bring every instance of ``group`` onto ``target``; return once they run it.

    1. A refresh towards ``target`` already active (an interrupted run's): adopt it.
    2. Otherwise, if the group already references ``target`` and every instance was
       launched from it (a new group, or a refresh that finished while nobody
       watched): no refresh; wait until the group is healthy on ``image_id``.
    3. Otherwise start a refresh (``start_instance_refresh``).
    Then wait for the refresh (``wait_for_refresh``) and, with ``target_groups``, until
    every instance is healthy in each (Auto Scaling's own health says nothing during
    the grace period). One deadline covers it all.

    Raises:
        RefreshFailedError, RefreshTimeoutError: as ``wait_for_refresh``.
        GroupUnhealthyError: the group (or its targets) did not become healthy.

    AWS calls: DescribeInstanceRefreshes, DescribeAutoScalingGroups, then either
    StartInstanceRefresh + DescribeInstanceRefreshes (polls), or
    DescribeAutoScalingGroups + DescribeInstances (polls, see wait_for_group_healthy),
    then DescribeTargetHealth (polls) with target groups.
    """
    pacing = pacing or Pacing()
    since = datetime.now(UTC)
    spec = WAITS["instance_refresh_successful"].spec
    if timeout_s is not None:
        spec = spec.with_deadline(timeout_s)
    started = pacing.clock()

    watched = WatchedGroup(autoscaling, ec2, group, image_id, elbv2, target_groups)

    mine, other = find_instance_refresh(autoscaling, group, target)
    if mine is not None:
        refresh_id = str(mine["InstanceRefreshId"])
        log(f"adopting instance refresh {refresh_id} of group {group} ({mine['Status']})")
    elif other is None and group_runs(autoscaling, group, target):
        log(f"group {group} already runs {target}: no instance refresh needed")
        current = wait_for_group_healthy(
            watched,
            since=since,
            pacing=pacing,
            spec=WAITS["group_healthy"].spec.with_deadline(spec.deadline_s),
            log=log,
        )
        return RolloutResult("", "AlreadyCurrent", current)
    else:
        refresh_id = start_instance_refresh(
            autoscaling, group, target, prefs, pacing=pacing, spec=spec, log=log
        )
    state = wait_for_refresh(
        autoscaling,
        group,
        refresh_id,
        target,
        pacing=pacing,
        spec=_remaining(spec, started, pacing),
        log=log,
    )
    health: GroupHealth | None = None
    if target_groups:
        within = WAITS["group_healthy"].spec.with_deadline(spec.deadline_s)
        health = wait_for_group_healthy(
            watched, pacing=pacing, spec=_remaining(within, started, pacing), log=log
        )
    log(f"instance refresh {refresh_id} of group {group} succeeded: every instance runs {target}")
    return RolloutResult(refresh_id, state.status, health)
