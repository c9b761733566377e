"""Bake planning as pure functions: no AWS, no Pulumi."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws.rules.bake_plan import (
    BAKE_ID,
    IMAGE_NAME,
    USER_NAMED,
    bake_id_for,
    consistency_of,
    plan_bake,
)

LINEAGE = "bakery/dev/golden"


def _inputs(**overrides: Any) -> dict[str, Any]:
    return {
        "instance_id": "i-0123456789abcdef0",
        "name": None,
        "triggers": ["patch-1"],
        "region": "us-east-1",
        "endpoint_url": None,
        "lineage": LINEAGE,
        **overrides,
    }


def _stored(inputs: dict[str, Any]) -> dict[str, Any]:
    """What check leaves in the state for these inputs."""
    plan = plan_bake({}, inputs)
    return {
        **inputs,
        "consistency": plan.consistency,
        BAKE_ID: plan.bake_id,
        IMAGE_NAME: plan.image_name,
        USER_NAMED: bool(inputs.get("name")),
    }


def test_plan_bake_first_bake_generates_id_and_name() -> None:
    plan = plan_bake({}, _inputs())

    assert plan.rebake and len(plan.bake_id) == 16
    assert plan.image_name == f"golden-{plan.bake_id[:10]}"
    assert plan.consistency == "stop" and plan.problems == [] and plan.notes == []


def test_plan_bake_same_inputs_keep_id_and_name_floats_from_engine_too() -> None:
    olds = _stored(_inputs(triggers=[1]))

    plan = plan_bake(olds, _inputs(triggers=[1.0]))

    assert not plan.rebake
    assert (plan.bake_id, plan.image_name) == (olds[BAKE_ID], olds[IMAGE_NAME])


def test_plan_bake_trigger_change_and_back_are_new_bakes() -> None:
    first = _stored(_inputs())
    second = _stored({**_inputs(triggers=["patch-2"])})
    second[BAKE_ID] = plan_bake(first, _inputs(triggers=["patch-2"])).bake_id

    back = plan_bake(second, _inputs())

    assert back.rebake and back.bake_id not in (first[BAKE_ID], second[BAKE_ID])


def test_plan_bake_consistency_change_alone_is_no_rebake() -> None:
    olds = _stored(_inputs())

    plan = plan_bake(olds, _inputs(consistency="reboot"))

    assert not plan.rebake and plan.consistency == "reboot"


def test_plan_bake_user_name_unchanged_on_rebake_is_a_problem() -> None:
    olds = _stored(_inputs(name="golden-v1"))

    plan = plan_bake(olds, _inputs(name="golden-v1", triggers=["patch-2"]))

    assert [p.field for p in plan.problems] == ["name"]


def test_plan_bake_reads_state_of_the_previous_bakery() -> None:
    # Written by the previous main: bake_id and the generated name in plain keys.
    olds = {
        **_inputs(),
        "stop_instance": True,
        "bake_id": "f58a7132c90ff2d7",
        "name": "golden-f58a7132c9",
        USER_NAMED: False,
    }

    plan = plan_bake(olds, _inputs())

    assert not plan.rebake
    assert (plan.bake_id, plan.image_name) == ("f58a7132c90ff2d7", "golden-f58a7132c9")


@pytest.mark.parametrize(
    ("props", "mode", "note"),
    [
        ({}, "stop", False),
        ({"stop_instance": True}, "stop", True),
        ({"stop_instance": False}, "live", True),
        ({"consistency": "reboot"}, "reboot", False),
    ],
)
def test_consistency_of_reads_deprecated_stop_instance(
    props: dict[str, Any], mode: str, note: bool
) -> None:
    plan = plan_bake({}, _inputs(**props))

    assert consistency_of(props) == mode == plan.consistency
    assert bool(plan.notes) is note
    assert all("deprecated" in n for n in plan.notes)


def test_bake_id_for_same_inputs_is_stable_and_history_matters() -> None:
    inputs = {"instance_id": "i-1", "triggers": ["a"]}
    assert bake_id_for(LINEAGE, inputs, None) == bake_id_for(LINEAGE, dict(inputs), None)
    assert bake_id_for(LINEAGE, inputs, "old") != bake_id_for(LINEAGE, inputs, None)


# rebake_on: [patch_state]: the fingerprint feeds the bake id while both sides have it.
def test_a_new_patch_state_rebakes_with_a_new_bake_id() -> None:
    from providers.aws.rules.bake_plan import PATCH_STATE

    old = _stored(_inputs(**{PATCH_STATE: "installed=12"}))
    same = plan_bake(old, _inputs(**{PATCH_STATE: "installed=12"}))
    changed = plan_bake(old, _inputs(**{PATCH_STATE: "installed=19"}))
    assert not same.rebake and same.bake_id == old[BAKE_ID]
    assert changed.rebake and changed.bake_id != old[BAKE_ID]


@pytest.mark.parametrize("turned", ["on", "off"])
def test_turning_rebake_on_on_or_off_records_without_a_rebake(turned: str) -> None:
    from providers.aws.rules.bake_plan import PATCH_STATE

    with_state = _inputs(**{PATCH_STATE: "installed=12"})
    old = _stored(_inputs() if turned == "on" else with_state)
    plan = plan_bake(old, with_state if turned == "on" else _inputs())
    assert not plan.rebake and plan.bake_id == old[BAKE_ID]
    assert any("recording" in n for n in plan.notes) == (turned == "on")
