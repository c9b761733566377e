"""CLI flags of ``pulumi up|preview|refresh|destroy`` as Automation API arguments.

``tests.e2e.pulumi_cli.Stack`` takes CLI flags (tests read like the commands a user
types) and runs them through ``pulumi.automation`` when every flag has an argument
there; ``automation_kwargs`` says which, or None to run the CLI directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Flags of up/preview/refresh/destroy that the Automation API takes as arguments
# (name -> keyword, and whether the flag takes a value). A call with any other flag
# (``--json``, ``--event-log``, ``--show-sames``, ...) runs the CLI directly: the
# Automation API has no argument for those (it returns engine events and text, not
# the ``--json`` document, and reads the event log itself).
_AUTOMATION_FLAGS: dict[str, tuple[str, bool]] = {
    "--diff": ("diff", False),
    "--expect-no-changes": ("expect_no_changes", False),
    "--clear-pending-creates": ("clear_pending_creates", False),
    "--parallel": ("parallel", True),
    "--policy-pack": ("policy_packs", True),
    "--skip-preview": ("", False),  # the Automation API always skips the preview
}


def automation_kwargs(op: str, args: Sequence[str]) -> dict[str, Any] | None:
    """Keyword arguments of ``auto.Stack.<op>`` for these CLI flags, or None."""
    kwargs: dict[str, Any] = {}
    rest = list(args)
    skip_preview = False
    while rest:
        flag = rest.pop(0)
        if flag not in _AUTOMATION_FLAGS:
            return None
        name, takes_value = _AUTOMATION_FLAGS[flag]
        if not name:
            skip_preview = True
        elif not takes_value:
            kwargs[name] = True
        elif not rest:
            return None
        elif name == "policy_packs":
            kwargs.setdefault(name, []).append(rest.pop(0))
        else:
            kwargs[name] = int(rest.pop(0))
    # `pulumi up` previews first unless told not to; the Automation API never does.
    if op == "up" and not skip_preview:
        return None
    return kwargs
