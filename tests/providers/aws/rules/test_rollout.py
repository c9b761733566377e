"""The fleet's rules: preference defaults, checks and the rollout estimate (no AWS)."""

from __future__ import annotations

import pytest

from providers.aws.rules import rollout as fleet_rules
from providers.aws.rules.rollout import RefreshPreferences


def test_check_preferences_bad_values_name_each_field() -> None:
    problems = fleet_rules.check_preferences(
        RefreshPreferences(
            min_healthy_percentage=101,
            instance_warmup_s=-1,
            checkpoint_percentages=(50, 20),
            checkpoint_delay_s=60,
        )
    )

    assert [p.field for p in problems] == [
        "min_healthy_percentage",
        "instance_warmup_s",
        "checkpoint_percentages",
    ]
    assert "0 to 100" in str(problems[0]) and "ending at 100" in str(problems[2])


def test_refresh_preferences_defaults_are_pulumi_aws_ones_not_the_apis_wait() -> None:
    api = RefreshPreferences().to_api(desired=10)

    assert api == {
        "MinHealthyPercentage": 90,
        "SkipMatching": True,
        "AutoRollback": True,
        "StandbyInstances": "Ignore",
        "ScaleInProtectedInstances": "Ignore",
    }


@pytest.mark.parametrize(
    ("desired", "low", "high"),
    [(1, 100, 200), (2, 90, 150), (4, 90, 125), (9, 90, 112)],
)
def test_refresh_preferences_small_fleets_launch_before_terminating(
    desired: int, low: int, high: int
) -> None:
    api = RefreshPreferences().to_api(desired)

    assert (api["MinHealthyPercentage"], api["MaxHealthyPercentage"]) == (low, high)
    # One more instance than desired fits, and nothing below the rounded-up minimum.
    assert fleet_rules.max_in_group(desired, high) == desired + 1


def test_refresh_preferences_large_fleet_keeps_aws_terminate_first_within_minimum() -> None:
    prefs = RefreshPreferences().for_capacity(10)

    assert prefs.max_healthy_percentage is None
    assert fleet_rules.min_in_service(10, 90) == 9


def test_refresh_preferences_explicit_max_healthy_is_sent_as_given() -> None:
    api = RefreshPreferences(max_healthy_percentage=100).to_api(desired=1)

    assert api["MaxHealthyPercentage"] == 100 and api["MinHealthyPercentage"] == 90


def test_refresh_preferences_alarms_and_bake_time_reach_the_request() -> None:
    api = RefreshPreferences(alarm_names=("web-5xx",), bake_time_s=600).to_api(desired=10)

    assert api["AlarmSpecification"] == {"Alarms": ["web-5xx"]} and api["BakeTime"] == 600


def test_check_preferences_checkpoints_without_delay_fail() -> None:
    problems = fleet_rules.check_preferences(RefreshPreferences(checkpoint_percentages=(50, 100)))

    assert [p.field for p in problems] == ["checkpoint_delay_s"]
    assert "AWS waits 3600 s at each checkpoint" in str(problems[0])


def test_check_preferences_delay_without_checkpoints_fails() -> None:
    problems = fleet_rules.check_preferences(RefreshPreferences(checkpoint_delay_s=300))

    assert [p.field for p in problems] == ["checkpoint_delay_s"]


@pytest.mark.parametrize(
    ("prefs", "field", "says"),
    [
        (RefreshPreferences(max_healthy_percentage=250), "max_healthy_percentage", "100 to 200"),
        (
            RefreshPreferences(min_healthy_percentage=50, max_healthy_percentage=160),
            "max_healthy_percentage",
            "give at most 150",
        ),
        (RefreshPreferences(standby_instances="Later"), "standby_instances", '"Ignore"'),
        (RefreshPreferences(alarm_names=tuple("a" * 11)), "alarm_names", "up to 10"),
        (RefreshPreferences(bake_time_s=200000), "bake_time_s", "at most 172800"),
    ],
)
def test_check_preferences_each_bad_value_names_its_field(
    prefs: RefreshPreferences, field: str, says: str
) -> None:
    problems = fleet_rules.check_preferences(prefs)

    assert [p.field for p in problems] == [field] and says in str(problems[0])


def test_check_preferences_max_size_without_room_to_launch_first_fails() -> None:
    problems = fleet_rules.check_preferences(
        RefreshPreferences(), desired=1, max_size=1, prefix="bakery:fleet."
    )

    assert [p.field for p in problems] == ["bakery:fleet.max_size"]
    assert "needs room for 2" in str(problems[0])
    assert fleet_rules.check_preferences(RefreshPreferences(), desired=1, max_size=2) == []


def test_estimate_rollout_nine_instances_at_90_percent_exceeds_an_hour_with_checkpoints() -> None:
    prefs = RefreshPreferences(checkpoint_percentages=(50, 100), checkpoint_delay_s=1800)

    estimate = fleet_rules.estimate_rollout(prefs, desired=9, grace_s=300)

    # 9 batches of one (launch 120 s + warm-up 300 s), two checkpoints of 1800 s.
    assert estimate.seconds == 9 * 420 + 3600
    assert "checkpoints 3600s" in str(estimate)
