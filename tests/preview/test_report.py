"""preview.report: what a preview document means, before any Markdown."""

from __future__ import annotations

from typing import Any

from preview.report import changed_inputs


def test_changed_inputs_skips_bookkeeping_keys_and_generated_name() -> None:
    old = {"__provider": "x", "bake_id": "a", "name": "image-a", "__user_named": False, "t": 1}
    new = {"__provider": "y", "bake_id": "b", "name": "image-b", "__user_named": False, "t": 2}

    assert [c.key for c in changed_inputs(old, new)] == ["t"]
    named = {**new, "__user_named": True}
    assert [c.key for c in changed_inputs({**old, "__user_named": True}, named)] == ["name", "t"]


def _update_document(**changed: object) -> dict[str, object]:
    import json
    from pathlib import Path

    rebake = json.loads(Path("tests/fixtures/preview/rebake.json").read_text())
    step = next(s for s in rebake["steps"] if "BakedImage" in s["urn"] and s["op"] == "replace")
    old = step["oldState"]
    old["outputs"] = {**old["outputs"], "created_at": "2026-12-01T00:00:00Z"}
    new = {**old, "inputs": {**old["inputs"], **changed}}
    return {
        "steps": [{"op": "update", "urn": step["urn"], "oldState": old, "newState": new}],
        "changeSummary": {"update": 1},
    }


def test_update_lists_what_the_lifecycle_plan_will_do() -> None:
    from preview.markdown import render
    from preview.report import read_preview

    document = _update_document(
        deprecate_after_days=30,
        share_with_accounts=["111122223333"],
        copy_to_regions={"eu-west-1": None},
    )

    report = read_preview(document, lineage_lookup=None)

    assert report.bakes[0].actions == (
        "deprecate the image at 2026-12-31 00:00 UTC",
        "share the image with 111122223333",
        "copy the image to eu-west-1",
        "deprecate the copy in eu-west-1 at 2026-12-31 00:00 UTC",
        "share the copy in eu-west-1 with 111122223333",
    )
    assert "- **Will**: deprecate the image at 2026-12-31" in render(report)


def test_update_with_values_unknown_until_apply_lists_no_actions() -> None:
    from preview.report import UNKNOWN, read_preview

    report = read_preview(_update_document(share_with_accounts=UNKNOWN), lineage_lookup=None)

    assert report.bakes[0].actions == ()


def test_rebake_on_patch_state_names_old_and_new_state_as_the_reason() -> None:
    """``rebake_on: [patch_state]``: the reason is the patch state, not "the bake id"."""
    from preview.markdown import render
    from preview.report import read_preview
    from providers.aws.rules.bake_plan import PATCH_STATE
    from providers.aws.rules.patch_state import PatchState

    old_state = PatchState(installed=12, operation="Scan", operation_end="2026-12-01T02:00:00Z")
    new_state = PatchState(installed=19, operation="Install", operation_end="2026-12-04T03:10:00Z")
    document = _update_document(**{PATCH_STATE: new_state.fingerprint()})
    step: Any = document["steps"][0]
    step["op"] = "replace"
    step["oldState"]["outputs"][PATCH_STATE] = old_state.fingerprint()

    report = read_preview(document, lineage_lookup=None)

    (change,) = report.bakes[0].changes
    assert change.key == "patch state"
    assert change.old == "12 installed (Scan, 2026-12-01 02:00 UTC)"
    assert change.new == "19 installed (Install, 2026-12-04 03:10 UTC)"
    assert "`patch state: 12 installed (Scan" in render(report)
