"""preview.report: what a preview document means, before any Markdown."""

from __future__ import annotations

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
