"""Patch state fingerprints (providers/aws/bake/patch_state.py), read under moto + ssm_commands."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.aws.bake.patch_state import (
    PatchState,
    describe_change,
    from_fingerprint,
    read_patch_state,
)
from tests.moto_ext import ssm_commands

BEFORE = PatchState(
    installed=12,
    installed_other=3,
    missing=7,
    operation="Scan",
    operation_end="2026-12-01T02:00:00Z",
    baseline_id="arn:aws:ssm:us-east-1:aws:patchbaseline/pb-0c10e657807c7a700",
)


def test_patch_state_fingerprint_round_trips_without_missing() -> None:
    state = PatchState(1, 2, 3, 4, 5, 6, "Install", "2026-12-04T03:10:00Z", "pb-0123456789abcdef0")

    back = from_fingerprint(state.fingerprint())

    assert back == PatchState(
        1, 2, 3, 4, 5, 0, "Install", "2026-12-04T03:10:00Z", "pb-0123456789abcdef0"
    )
    assert back is not None and back.fingerprint() == state.fingerprint()


def test_patch_state_fingerprint_ignores_missing_and_covers_the_rest() -> None:
    assert BEFORE.fingerprint() == PatchState(**{**BEFORE.__dict__, "missing": 99}).fingerprint()
    for name, value in (
        ("installed", 13),
        ("installed_other", 4),
        ("installed_pending_reboot", 1),
        ("installed_rejected", 1),
        ("failed", 1),
        ("operation", "Install"),
        ("operation_end", "2026-12-04T03:10:00Z"),
        ("baseline_id", "pb-0123456789abcdef0"),
    ):
        changed = PatchState(**{**BEFORE.__dict__, name: value})
        assert changed.fingerprint() != BEFORE.fingerprint(), name


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "garbage",
        "ps1;i=1",
        "ps9;i=1;o=0;p=0;r=0;f=0;op=;end=;b=",
        "ps1;i=x;o=0;p=0;r=0;f=0;op=;end=;b=",
    ],
)
def test_patch_state_from_fingerprint_garbage_is_none(text: str | None) -> None:
    assert from_fingerprint(text) is None


def test_patch_state_summary_names_counts_operation_and_time() -> None:
    state = PatchState(installed=12, operation="Install", operation_end="2026-12-04T03:10:00Z")

    assert state.summary() == "12 installed (Install, 2026-12-04 03:10 UTC)"
    assert PatchState(installed=5, failed=2).summary() == "5 installed, 2 failed"


def test_describe_change_names_every_changed_field() -> None:
    after = PatchState(
        **{
            **BEFORE.__dict__,
            "installed": 19,
            "missing": 0,
            "operation": "Install",
            "operation_end": "2026-12-04T03:10:00Z",
        }
    )

    line = describe_change(BEFORE.fingerprint(), after)

    assert line.startswith("patch state changed: 12 installed -> 19 installed")
    assert "operation Scan -> Install" in line
    assert "operation end 2026-12-01 02:00 UTC -> 2026-12-04 03:10 UTC" in line
    assert line.endswith("(Install, 2026-12-04 03:10 UTC)")
    assert "installed other" not in line and "baseline" not in line


def test_describe_change_without_a_recorded_state_or_with_the_same_one() -> None:
    assert describe_change(None, BEFORE).startswith("patch state: 12 installed")
    assert describe_change("garbage", BEFORE).endswith("(none recorded before)")
    newer_missing = PatchState(**{**BEFORE.__dict__, "missing": 30})
    assert describe_change(BEFORE.fingerprint(), newer_missing).startswith("patch state unchanged")


def test_read_patch_state_none_for_an_instance_never_patched(ec2: Any, ssm: Any) -> None:
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]

    assert read_patch_state(ssm, instance["InstanceId"]) is None


def test_read_patch_state_reads_counts_and_utc_end_time(ec2: Any, ssm: Any) -> None:
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    ssm_commands.set_patch_state(
        instance["InstanceId"],
        InstalledCount=12,
        InstalledOtherCount=3,
        InstalledPendingRebootCount=1,
        InstalledRejectedCount=0,
        FailedCount=2,
        MissingCount=7,
        Operation="Install",
        OperationEndTime=datetime(2026, 12, 4, 3, 10, tzinfo=UTC),
        BaselineId="pb-0123456789abcdef0",
    )

    state = read_patch_state(ssm, instance["InstanceId"])

    assert state == PatchState(
        12, 3, 1, 0, 2, 7, "Install", "2026-12-04T03:10:00Z", "pb-0123456789abcdef0"
    )


def test_read_patch_state_after_an_install_differs_from_before(ec2: Any, ssm: Any) -> None:
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    instance_id = instance["InstanceId"]
    ssm_commands.register_agent(instance_id)
    ssm_commands.set_patch_state(instance_id, InstalledCount=12, MissingCount=7)
    before = read_patch_state(ssm, instance_id)
    assert before is not None
    command = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunPatchBaseline",
        Parameters={"Operation": ["Install"]},
    )["Command"]["CommandId"]
    for _ in range(4):
        with contextlib.suppress(ssm.exceptions.InvocationDoesNotExist):
            ssm.get_command_invocation(CommandId=command, InstanceId=instance_id)

    after = read_patch_state(ssm, instance_id)

    assert after is not None and after.installed == 19
    assert describe_change(before.fingerprint(), after).startswith(
        "patch state changed: 12 installed -> 19 installed"
    )
