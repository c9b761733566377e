"""Waiting on an instance refresh (providers/aws/fleet/refresh_status.py) against moto."""

from __future__ import annotations

import pytest

from providers.aws.errors import RefreshFailedError, RefreshTimeoutError, RolloutError
from providers.aws.fleet import instance_refresh as rollout
from providers.aws.rules.rollout import RefreshPreferences
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.moto_ext import asg_health, instance_refresh
from tests.providers.aws.conftest import PREFS, Fleet, roll


def test_wait_for_refresh_failed_without_rollback_says_no_rollback_ran(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh(
        "web", "InProgress", "Failed", reason="Launching a new EC2 instance failed"
    )
    no_rollback = RefreshPreferences(auto_rollback=False)

    with pytest.raises(RefreshFailedError) as caught:
        roll(fleet, 2, pacing, prefs=no_rollback)

    assert caught.value.status == "Failed"
    assert "Launching a new EC2 instance failed" in str(caught.value)
    assert "No rollback ran" in str(caught.value)
    assert fleet.describe()["LaunchTemplate"]["Version"] == "1"


def test_wait_for_refresh_rollback_failed_warns_the_fleet_may_be_mixed(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh(
        "web",
        "InProgress",
        "RollbackInProgress",
        "RollbackFailed",
        reason="Health checks failed",
        rollback_reason="Rollback could not launch instances",
    )

    with pytest.raises(RefreshFailedError) as caught:
        roll(fleet, 2, pacing)

    assert caught.value.status == "RollbackFailed"
    message = str(caught.value)
    assert "Auto-rollback FAILED" in message and "mix of old and new" in message
    assert "Rollback could not launch instances" in message


def test_wait_for_refresh_cancelled_by_someone_raises_cancelled(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "InProgress")
    refresh_id = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    fleet.autoscaling.cancel_instance_refresh(AutoScalingGroupName="web")

    with pytest.raises(RefreshFailedError) as caught:
        rollout.wait_for_refresh(
            fleet.autoscaling, "web", refresh_id, fleet.version(2), pacing=pacing
        )

    assert caught.value.status == "Cancelled"
    assert "cancelled" in str(caught.value) and "CancelInstanceRefresh" in str(caught.value)


def test_wait_for_refresh_rollback_requested_restores_previous_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "InProgress")
    refresh_id = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    fleet.autoscaling.describe_instance_refreshes(AutoScalingGroupName="web")  # one batch on B
    assert fleet.images["B"] in fleet.images_running()
    fleet.autoscaling.rollback_instance_refresh(AutoScalingGroupName="web")

    with pytest.raises(RefreshFailedError) as caught:
        rollout.wait_for_refresh(
            fleet.autoscaling, "web", refresh_id, fleet.version(2), pacing=pacing
        )

    assert caught.value.status == "RollbackSuccessful"
    assert fleet.images_running() == [fleet.images["A"]] * 4


def test_wait_for_refresh_past_deadline_raises_timeout_with_progress(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    instance_refresh.script_next_refresh("web", *["InProgress"] * 1000)

    with pytest.raises(RefreshTimeoutError) as caught:
        roll(fleet, 2, pacing, timeout_s=600)

    err = caught.value
    assert err.status == "InProgress" and err.percentage_complete == 50
    assert 600 <= err.elapsed_s < 700 and sum(fake_clock.sleeps) <= 600
    assert "carries on in AWS" in str(err) and "cancel-instance-refresh" in str(err)


def test_wait_for_refresh_progress_lines_show_percentage_and_instances_to_update(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")
    lines: list[str] = []

    roll(fleet, 2, pacing, log=lines.append)

    progress = [line for line in lines if ": InProgress" in line]
    assert progress and "50% complete, 2 instance(s) to update" in progress[0]
    # Throttled: one line per state change, not one per poll.
    assert len(progress) == 1
    assert lines[-1].endswith(
        "every instance runs launch template " + fleet.template_id + " version 2"
    )


def test_wait_for_refresh_failed_scaling_activity_fails_at_once(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    instance_refresh.script_next_refresh("web", *["InProgress"] * 50)
    refresh_id = rollout.start_instance_refresh(
        fleet.autoscaling, "web", fleet.version(2), PREFS, pacing=pacing
    )
    asg_health.fail_scaling_activity("web", "We currently do not have sufficient capacity")

    with pytest.raises(RolloutError) as caught:
        rollout.wait_for_refresh(
            fleet.autoscaling, "web", refresh_id, fleet.version(2), pacing=pacing
        )

    assert caught.value.status == "ScalingActivityFailed"
    assert "sufficient capacity" in str(caught.value)
    assert len(fake_clock.sleeps) <= 1
