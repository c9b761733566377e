"""tests/e2e/automation_flags.py: which CLI flags the Automation API can take."""

from __future__ import annotations

from tests.e2e.automation_flags import automation_kwargs


def test_automation_kwargs_maps_known_flags_and_values() -> None:
    assert automation_kwargs("preview", ["--diff", "--expect-no-changes"]) == {
        "diff": True,
        "expect_no_changes": True,
    }
    assert automation_kwargs("up", ["--skip-preview", "--parallel", "8"]) == {"parallel": 8}
    assert automation_kwargs("preview", ["--policy-pack", "a", "--policy-pack", "b"]) == {
        "policy_packs": ["a", "b"]
    }


def test_automation_kwargs_refuses_what_it_cannot_express() -> None:
    assert automation_kwargs("preview", ["--json"]) is None
    assert automation_kwargs("up", ["--event-log", "x", "--skip-preview"]) is None
    assert automation_kwargs("preview", ["--parallel"]) is None  # value missing
    # `pulumi up` previews first; the Automation API's up never does.
    assert automation_kwargs("up", []) is None
