"""The golden instance's patch state: what Patch Manager last reported, as a fingerprint.

``rebake_on: [patch_state]`` re-bakes when the instance's patch state differs from the
one its image was baked at; the fingerprint kept in Pulumi state is that comparison's
memory. It covers what a patch run changes on the instance: the installed, installed
other, installed pending reboot, installed rejected and failed counts, the operation,
its end time and the baseline. Not ``MissingCount``: a new release in the repositories
raises it with nothing on the instance changed (a Scan would make every new advisory a
re-bake).

Fields: SSM API reference, InstancePatchState (Operation Scan | Install,
OperationEndTime, BaselineId, the counts).

Pure: ``bake/patch_state.read_patch_state`` reads it (DescribeInstancePatchStates);
the adapter and the PR preview compare and describe it with what is here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

# Version first, so that a later fingerprint of other fields is never misread as this one.
_VERSION = "ps1"
# Fingerprint keys, in order: (short key, PatchState field, label in messages).
_COUNTS = (
    ("i", "installed", "installed"),
    ("o", "installed_other", "installed other"),
    ("p", "installed_pending_reboot", "pending reboot"),
    ("r", "installed_rejected", "rejected"),
    ("f", "failed", "failed"),
)
_TEXTS = (
    ("op", "operation", "operation"),
    ("end", "operation_end", "operation end"),
    ("b", "baseline_id", "baseline"),
)
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class PatchState:
    """One instance's high-level patch state (counts, the last operation, the baseline).

    ``operation_end`` is ISO 8601 in UTC (``2026-12-04T03:10:00Z``). ``missing`` is shown
    but not fingerprinted; a state read back from a fingerprint has it 0.
    """

    installed: int = 0
    installed_other: int = 0
    installed_pending_reboot: int = 0
    installed_rejected: int = 0
    failed: int = 0
    missing: int = 0
    operation: str = ""
    operation_end: str = ""
    baseline_id: str = ""

    def fingerprint(self) -> str:
        """A stable, compact text of the fingerprinted fields (stored in Pulumi state)."""
        parts = [_VERSION]
        parts += [f"{key}={getattr(self, name)}" for key, name, _ in _COUNTS]
        parts += [f"{key}={getattr(self, name)}" for key, name, _ in _TEXTS]
        return ";".join(parts)

    def summary(self) -> str:
        """Like ``12 installed, 1 failed (Install, 2026-12-04 03:10 UTC)``."""
        shown = [f"{self.installed} installed"]
        shown += [
            f"{getattr(self, name)} {label}"
            for _, name, label in _COUNTS[1:]
            if getattr(self, name)
        ]
        when = _shown_time(self.operation_end)
        detail = ", ".join(x for x in (self.operation, when) if x)
        return f"{', '.join(shown)} ({detail})" if detail else ", ".join(shown)


def from_fingerprint(text: str | None) -> PatchState | None:
    """The state a fingerprint was made of (``missing`` 0), or None for anything else."""
    if not text:
        return None
    parts = text.split(";")
    keys = [k for k, _, _ in _COUNTS] + [k for k, _, _ in _TEXTS]
    if parts[0] != _VERSION or len(parts) != len(keys) + 1:
        return None
    values: dict[str, Any] = {}
    for part, (key, name) in zip(
        parts[1:], [(k, n) for k, n, _ in _COUNTS] + [(k, n) for k, n, _ in _TEXTS], strict=True
    ):
        found, sep, value = part.partition("=")
        if not sep or found != key:
            return None
        if name in {n for _, n, _ in _COUNTS}:
            if not value.isdigit():
                return None
            values[name] = int(value)
        else:
            values[name] = value
    return PatchState(**values)


def describe_change(old_fingerprint: str | None, new: PatchState) -> str:
    """A line for the user naming every fingerprinted field that changed, e.g.
    ``patch state changed: 12 installed -> 19 installed (Install, 2026-12-04 03:10 UTC)``."""
    old = from_fingerprint(old_fingerprint)
    if old is None:
        return f"patch state: {new.summary()} (none recorded before)"
    # Compare what the fingerprint covers only (``missing`` is not in it).
    old = replace(old, missing=new.missing)
    if old == new:
        return f"patch state unchanged: {new.summary()}"
    changes: list[str] = []
    for _, name, label in _COUNTS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(f"{before} {label} -> {after} {label}")
    for _, name, label in _TEXTS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            if name == "operation_end":
                before, after = _shown_time(before), _shown_time(after)
            changes.append(f"{label} {before or 'none'} -> {after or 'none'}")
    detail = ", ".join(x for x in (new.operation, _shown_time(new.operation_end)) if x)
    return f"patch state changed: {', '.join(changes)}" + (f" ({detail})" if detail else "")


def _shown_time(iso: str) -> str:
    """``2026-12-04T03:10:00Z`` as ``2026-12-04 03:10 UTC`` (other text as it is)."""
    try:
        moment = datetime.strptime(iso, ISO_FORMAT)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M UTC")
