"""preview.markdown (over preview.report): the comment for the real CLI's JSON.

The fixtures are in tests/fixtures/preview/, from the e2e run (tests/preview/__init__.py
says what each is).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from preview.markdown import COMMENT_MARKER, render
from preview.report import read_preview
from providers.aws.errors import LineageUnreadableError
from providers.aws.images.lineage import LineageImage
from tests import preview_fleet_fixture
from tests.preview import FIXTURES
from tests.preview import document as _document


def _replay(case: str) -> Any:
    """A lineage lookup answering what AWS (moto) answered during the capture."""
    listed = json.loads((FIXTURES / f"{case}.aws.json").read_text())
    images = [LineageImage(**{**i, "in_use": tuple(i.get("in_use", ()))}) for i in listed]
    asked: list[dict[str, Any]] = []

    def lookup(inputs: dict[str, Any]) -> list[LineageImage]:
        asked.append(dict(inputs))
        return images

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


def _no_credentials(*_: Any) -> list[LineageImage]:
    raise LineageUnreadableError("no AWS credentials in this environment")


def _comment(case: str, lookup: Any = _no_credentials) -> str:
    return render(read_preview(_document(case), lookup))


def _instance_id(case: str) -> str:
    for step in _document(case)["steps"]:
        state = step.get("newState") or step.get("oldState") or {}
        if "instance_id" in state.get("inputs", {}):
            return str(state["inputs"]["instance_id"])
    raise AssertionError("no BakedImage in the fixture")


def _state_image(case: str) -> str:
    for step in _document(case)["steps"]:
        if step["urn"].endswith("BakedImage::image"):
            return str(step["oldState"]["outputs"]["image_id"])
    raise AssertionError("no BakedImage in the fixture")


def test_pr_preview_first_bake_says_bake_and_that_the_instance_will_stop() -> None:
    comment = _comment("first-bake")

    assert comment.startswith(COMMENT_MARKER)
    assert "#### Bake `image` (BakedImage, first bake)" in comment
    assert "- **Why**: no image of `image` in the Pulumi state yet" in comment
    assert f"**will stop** `{_instance_id('first-bake')}`" in comment
    assert "**Expected downtime**: a stop and a start" in comment
    assert "Retires" not in comment and "Deregisters" not in comment
    assert " + pulumi:providers:pulumi-python image-provider create" in comment


def test_pr_preview_rebake_names_trigger_instance_stop_and_retired_and_pruned_images() -> None:
    lookup = _replay("rebake")
    comment = _comment("rebake", lookup)
    pruned = [i for i in lookup(lookup.asked[0]) if i.retired]

    assert "- **Why**: `triggers: [patch-2] -> [patch-3]`" in comment
    assert f"**will stop** `{_instance_id('rebake')}`" in comment
    assert re.search(rf"\*\*Retires\*\* `{_state_image('rebake')}` \(3 snapshots\)", comment)
    assert len(pruned) == 1
    assert f"`{pruned[0].image_id}` (3 snapshots, retired, not in the Pulumi state)" in comment
    assert "bake_id" not in comment.split("Messages")[0]  # derived, not a reason
    asked = lookup.asked[0]
    assert (asked["lineage"], asked["region"]) == ("bakery/local/image", "us-east-1")
    assert asked["endpoint_url"].startswith("http://127.0.0.1:")


def test_pr_preview_rebake_without_credentials_says_aws_was_not_consulted() -> None:
    comment = _comment("rebake")

    assert re.search(rf"\*\*Retires\*\* `{_state_image('rebake')}`", comment)
    assert "Deregisters" not in comment
    assert "AWS not consulted: no AWS credentials in this environment" in comment
    assert "not in the Pulumi state are not listed" in comment


def test_pr_preview_destroy_lists_the_retired_image_not_in_the_state() -> None:
    lookup = _replay("destroy")
    comment = _comment("destroy", lookup)
    retired = [i for i in lookup(lookup.asked[0]) if i.retired]

    line = next(x for x in comment.splitlines() if x.startswith("- **Deregisters**"))
    assert f"`{_state_image('destroy')}` (3 snapshots)" in line
    assert f"`{retired[0].image_id}` (3 snapshots, retired, not in the Pulumi state)" in line
    assert "untouched" in comment


def test_pr_preview_no_change_says_nothing_to_do() -> None:
    comment = _comment("no-change")

    assert "**Nothing to do**" in comment
    assert "####" not in comment


def test_pr_preview_fleet_rollout_gives_strategy_health_checkpoints_duration_failure() -> None:
    comment = _comment("fleet-rollout")

    assert "#### Re-bake `image` (BakedImage)" in comment
    assert "#### Fleet rollout `fleet-rollout` (rolling: instance refresh)" in comment
    assert "2-4 instances, 2 desired" in comment
    # fleet_rules: 2 instances launch one more before terminating (max 150 %).
    assert "**Healthy**: min 50 %, max 150 %" in comment
    assert "**Checkpoints**: 50 %, 100 %, 300 s pause at each" in comment
    # One batch of 120 s launch + 120 s warm-up, and 300 s at each of two checkpoints.
    assert "**Estimated duration**: ≈ 14 min (batches 240 s, checkpoints 600 s)" in comment
    assert "rolls the group back to the previous launch template version" in comment
    assert "~ aws:ec2/launchTemplate:LaunchTemplate fleet-lt update [diff: ~imageId]" in comment


def test_pr_preview_fleet_fixture_has_the_steps_its_generator_builds() -> None:
    # Steps and summary, not every input: inputs follow the program (regenerate with
    # `python -m tests.preview_fleet_fixture` when they change).
    def shape(document: dict[str, Any]) -> tuple[Any, ...]:
        steps = [(s["op"], s["urn"]) for s in document["steps"]]
        return steps, document["changeSummary"]

    assert shape(_document("fleet-rollout")) == shape(preview_fleet_fixture.build()), (
        "regenerate it: python -m tests.preview_fleet_fixture"
    )


def test_pr_preview_fleet_without_its_group_in_the_document_says_size_is_missing() -> None:
    document = _document("fleet-rollout")
    document["steps"] = [s for s in document["steps"] if "Group::" not in s["urn"]]

    comment = render(read_preview(document, _no_credentials))

    assert "size not in this preview (run `pulumi preview --json --show-sames`)" in comment


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"consistency": "reboot"}, "**will reboot**"),
        ({"consistency": "live"}, "runs on:"),
        ({"stop_instance": False}, "runs on:"),
        ({"stop_instance": True}, "**will stop**"),
    ],
)
def test_pr_preview_instance_fate_follows_consistency_or_legacy_stop_instance(
    inputs: dict[str, Any], expected: str
) -> None:
    document = _document("first-bake")
    for step in document["steps"]:
        if step["urn"].endswith("BakedImage::image"):
            state_inputs = step["newState"]["inputs"]
            for key in ("stop_instance", "consistency"):  # a state has one or the other
                state_inputs.pop(key, None)
            state_inputs.update(inputs)

    assert expected in render(read_preview(document, _no_credentials))


def test_pr_preview_blue_green_cutover_says_old_group_keeps_serving_on_failure() -> None:
    document = _document("fleet-rollout")
    for step in document["steps"]:
        if "InstanceRefresh" in step["urn"]:
            step["urn"] = step["urn"].replace("InstanceRefresh", "BlueGreenCutover")
            for state in (step["oldState"], step["newState"]):
                state["type"] = "pulumi-python:dynamic/bakery:BlueGreenCutover"
            step["op"] = "replace"

    comment = render(read_preview(document, _no_credentials))

    assert "(blue/green: a new group per image)" in comment
    assert "Healthy" not in comment and "Checkpoints" not in comment
    # One launch (120 s) plus the group's 300 s grace period, then a 300 s drain.
    assert "≈ 12 min (launch+warmup 420 s, drain 300 s)" in comment
    assert "nothing is deleted: the old group keeps serving" in comment
