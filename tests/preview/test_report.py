"""preview.report: what a preview document means, before any Markdown."""

from __future__ import annotations

from preview.report import changed_inputs


def test_changed_inputs_skips_bookkeeping_keys_and_generated_name() -> None:
    old = {"__provider": "x", "bake_id": "a", "name": "image-a", "__user_named": False, "t": 1}
    new = {"__provider": "y", "bake_id": "b", "name": "image-b", "__user_named": False, "t": 2}

    assert [c.key for c in changed_inputs(old, new)] == ["t"]
    named = {**new, "__user_named": True}
    assert [c.key for c in changed_inputs({**old, "__user_named": True}, named)] == ["name", "t"]
