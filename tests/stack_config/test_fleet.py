"""stack_config.fleet: the fleet section matches ImageFleetArgs; its rules name their key."""

from __future__ import annotations

import dataclasses

import stack_config
from components import image_fleet
from providers.aws.rules import rollout as fleet_rules
from stack_config import KEYS, load
from tests.stack_config import fleet, problems_of


def test_stack_config_fleet_fields_match_image_fleet_args() -> None:
    fleet_fields = {f.name for f in dataclasses.fields(stack_config.FleetConfig)}
    args_fields = {f.name for f in dataclasses.fields(image_fleet.ImageFleetArgs)}

    assert fleet_fields == args_fields - {"image_id", "region", "endpoint_url"}
    # The refresh preferences are read from flat keys of their own names.
    flat = (fleet_fields - {"refresh"}) | set(fleet_rules.PREFERENCE_KEYS)
    assert {f"fleet.{name}" for name in flat} == {k for k in KEYS if k.startswith("fleet.")}
    for name in fleet_rules.PREFERENCE_KEYS:
        got = KEYS[f"fleet.{name}"].default
        want = getattr(fleet_rules.RefreshPreferences(), name)
        assert got == want or (list(got), list(want)) == ([], []), name
    for name in fleet_fields - {"refresh"}:
        default = dataclasses.fields(image_fleet.ImageFleetArgs)
        want = next(f for f in default if f.name == name)
        if want.default is not dataclasses.MISSING:
            got = KEYS[f"fleet.{name}"].default
            assert got == want.default or (got, want.default) == (None, None), name


def test_stack_config_min_above_max_names_min_size() -> None:
    problems = problems_of(fleet(**{"fleet.min_size": 5, "fleet.max_size": 3}))

    assert "make min_size <= max_size" in problems["bakery:fleet.min_size"]


def test_stack_config_desired_outside_bounds_names_desired_capacity() -> None:
    problems = problems_of(fleet(**{"fleet.max_size": 2, "fleet.desired_capacity": 3}))

    assert list(problems) == ["bakery:fleet.desired_capacity"]


def test_stack_config_unknown_rollout_strategy_names_the_key() -> None:
    problems = problems_of(fleet(**{"fleet.rollout": "canary"}))

    assert "rolling, blue_green" in problems["bakery:fleet.rollout"]


def test_stack_config_rolling_with_launch_configuration_is_refused() -> None:
    problems = problems_of(fleet(**{"fleet.launch": "configuration"}))

    assert "blue_green" in problems["bakery:fleet.rollout"]
    load(fleet(**{"fleet.launch": "configuration", "fleet.rollout": "blue_green"}))
