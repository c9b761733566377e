"""The fleet's shape: sizes, defaults and the one fleet check (no AWS)."""

from __future__ import annotations

from providers.aws.rules import fleet as fleet_shape
from providers.aws.rules.rollout import RefreshPreferences


def test_planned_max_size_default_leaves_room_for_a_rolling_refresh() -> None:
    prefs = RefreshPreferences()

    assert fleet_shape.planned_max_size(1, None, 1, "rolling", prefs) == 2
    assert fleet_shape.planned_max_size(1, None, 1, "blue_green", prefs) == 1
    assert fleet_shape.planned_max_size(1, 5, 1, "rolling", prefs) == 5


def test_check_fleet_names_each_field_with_the_prefix() -> None:
    problems = fleet_shape.check_fleet(
        launch="template",
        rollout="rolling",
        min_size=5,
        max_size=3,
        desired=None,
        health_check_type="HTTP",
        grace_s=300,
        timeout_s=3600,
        prefs=RefreshPreferences(),
        http_tokens="maybe",
        prefix="bakery:fleet.",
    )

    assert [p.field for p in problems] == [
        "bakery:fleet.min_size",
        "bakery:fleet.health_check_type",
        "bakery:fleet.metadata_http_tokens",
    ]


def test_default_health_check_type_is_elb_with_target_groups() -> None:
    assert fleet_shape.default_health_check_type(True) == "ELB"
    assert fleet_shape.default_health_check_type(False) == "EC2"
