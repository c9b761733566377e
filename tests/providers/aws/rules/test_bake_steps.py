"""The steps around the image as specs: every bad field named, defaults filled."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws.rules.bake_steps import (
    CommandSpec,
    PatchSpec,
    command_of,
    patch_of,
    rebake_on_of,
    verify_of,
)

SUBNET = "subnet-0123456789abcdef0"


def test_unset_steps_are_none_without_problems() -> None:
    assert patch_of(None) == (None, [])
    assert command_of(None, "prepare") == (None, [])
    assert verify_of(None) == (None, [])
    assert rebake_on_of(None) == ((), [])


def test_patch_defaults_and_document_parameters() -> None:
    spec, problems = patch_of({})
    assert problems == [] and spec == PatchSpec()
    assert spec.parameters() == {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}
    scan, _ = patch_of(
        {"operation": "scan", "reboot": "never", "baseline_override": "s3://b-1/base.json"}
    )
    assert scan is not None and scan.parameters() == {
        "Operation": ["Scan"],
        "RebootOption": ["NoReboot"],
        "BaselineOverride": ["s3://b-1/base.json"],
    }


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"operation": "upgrade"}, "patch.operation"),
        ({"reboot": "always"}, "patch.reboot"),
        ({"baseline_override": "https://x/y"}, "patch.baseline_override"),
        ({"timeout_s": 5}, "patch.timeout_s"),
        ({"timeout_s": True}, "patch.timeout_s"),
        ({"operations": "install"}, "patch.operations"),
        ("install", "patch"),
    ],
)
def test_bad_patch_fields_are_named(value: Any, field: str) -> None:
    spec, problems = patch_of(value)
    assert spec is None and [p.field for p in problems] == [field]


def test_commands_take_a_line_or_a_list_and_set_the_execution_timeout() -> None:
    spec, problems = command_of({"commands": "rm -rf /var/lib/cloud", "timeout_s": 120}, "prepare")
    assert problems == [] and spec == CommandSpec(("rm -rf /var/lib/cloud",), timeout_s=120.0)
    assert spec.parameters() == {
        "commands": ["rm -rf /var/lib/cloud"],
        "executionTimeout": ["120"],
    }
    own, _ = command_of({"document": "Team-Cleanup"}, "restore")
    assert own is not None and own.parameters() == {}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"commands": []}, "prepare.commands"),
        ({"commands": ["ok", ""]}, "prepare.commands"),
        ({"commands": ["ok"], "document": "no spaces allowed"}, "prepare.document"),
        ({"commands": ["ok"], "timeout_s": 200000}, "prepare.timeout_s"),
    ],
)
def test_bad_command_fields_are_named(value: Any, field: str) -> None:
    spec, problems = command_of(value, "prepare")
    assert spec is None and [p.field for p in problems] == [field]


def test_verify_needs_a_subnet_and_judges_its_command() -> None:
    spec, problems = verify_of(
        {
            "subnet_id": SUBNET,
            "instance_profile": "bakery-verify",
            "command": {"commands": ["systemctl is-system-running"]},
        }
    )
    assert problems == [] and spec is not None
    assert spec.command == CommandSpec(("systemctl is-system-running",))
    assert spec.associate_public_ip is False
    _, problems = verify_of({"instance_type": "t3.micro"})
    assert [p.field for p in problems] == ["verify.subnet_id"]
    _, problems = verify_of(
        {
            "subnet_id": SUBNET,
            "security_group_ids": ["default"],
            "instance_type": "huge",
            "associate_public_ip": "yes",
            "command": {"commands": []},
        }
    )
    assert [p.field for p in problems] == [
        "verify.instance_type",
        "verify.security_group_ids",
        "verify.associate_public_ip",
        "verify.command.commands",
    ]


def test_rebake_on_knows_patch_state_only() -> None:
    assert rebake_on_of(["patch_state", "patch_state"]) == (("patch_state",), [])
    assert [p.field for p in rebake_on_of(["kernel"])[1]] == ["rebake_on"]
    assert [p.field for p in rebake_on_of("patch_state")[1]] == ["rebake_on"]


def test_verify_command_needs_an_instance_profile_for_the_agent() -> None:
    _, problems = verify_of({"subnet_id": SUBNET, "command": {"commands": ["true"]}})
    assert [p.field for p in problems] == ["verify.instance_profile"]
    assert "AmazonSSMManagedInstanceCore" in str(problems[0])
