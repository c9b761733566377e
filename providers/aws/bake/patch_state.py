"""Reading the golden instance's patch state (DescribeInstancePatchStates, read-only).

What the state is, its fingerprint and how a change is described: ``rules/patch_state``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from providers.aws.rules.patch_state import (
    ISO_FORMAT,
    PatchState,
    describe_change,
    from_fingerprint,
)

__all__ = ["PatchState", "describe_change", "from_fingerprint", "read_patch_state"]


def read_patch_state(ssm: Any, instance_id: str) -> PatchState | None:
    """The instance's patch state, or None when Patch Manager has none for it (never
    scanned or patched). AWS calls: ssm DescribeInstancePatchStates."""
    found = ssm.describe_instance_patch_states(InstanceIds=[instance_id])
    states = found.get("InstancePatchStates") or []
    if not states:
        return None
    state = states[0]
    return PatchState(
        installed=int(state.get("InstalledCount") or 0),
        installed_other=int(state.get("InstalledOtherCount") or 0),
        installed_pending_reboot=int(state.get("InstalledPendingRebootCount") or 0),
        installed_rejected=int(state.get("InstalledRejectedCount") or 0),
        failed=int(state.get("FailedCount") or 0),
        missing=int(state.get("MissingCount") or 0),
        operation=str(state.get("Operation") or ""),
        operation_end=_iso(state.get("OperationEndTime")),
        baseline_id=str(state.get("BaselineId") or ""),
    )


def _iso(value: Any) -> str:
    """A timestamp (datetime from boto3, or text) as ISO 8601 UTC to the second."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime(ISO_FORMAT)
    return str(value or "")
