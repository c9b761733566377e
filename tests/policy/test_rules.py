"""policy.rules: each rule on a planted violation and on what the committed stacks register."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from policy import rules
from policy.rules import RULES, Stack
from tests.program_fixtures import (
    AMI_COPY,
    BAKED_IMAGE,
    INSTANCE_REFRESH,
    LAUNCH_PERMISSION,
    LAUNCH_TEMPLATE,
    ProgramMocks,
    fresh_mocks,
    run_program,
    stack_yaml,
)

PRODUCTION = Stack(production=True)
ENCRYPTED = Stack(encrypted=True)


@pytest.fixture
def program_mocks() -> Iterator[ProgramMocks]:
    yield from fresh_mocks()


def _violations(mocks: ProgramMocks, stack: Stack) -> dict[str, list[str]]:
    """Policy name -> resource names it reports, over every registration of a run."""
    found: dict[str, list[str]] = {}
    for registration in mocks.registrations:
        for name, (_, rule) in RULES.items():
            if rule(registration.typ, registration.inputs, stack) is not None:
                found.setdefault(name, []).append(registration.name)
    return found


def test_rules_public_launch_permission_is_refused_in_every_stack() -> None:
    public = {"imageId": "ami-1", "group": "all"}

    assert "would be public" in str(rules.public_image(LAUNCH_PERMISSION, public, Stack()))
    assert rules.public_image(LAUNCH_PERMISSION, {"accountId": "012345678901"}, Stack()) is None


def test_rules_copy_must_be_encrypted_only_where_the_stack_asks() -> None:
    plain: dict[str, Any] = {"sourceAmiId": "ami-1"}

    assert "bakery:promote.kms_key_id" in str(rules.unencrypted_copy(AMI_COPY, plain, ENCRYPTED))
    assert rules.unencrypted_copy(AMI_COPY, plain, Stack()) is None
    assert rules.unencrypted_copy(AMI_COPY, {"encrypted": True}, ENCRYPTED) is None


@pytest.mark.parametrize(
    ("props", "refused"),
    [
        ({"consistency": "live"}, True),
        ({"stop_instance": False}, True),
        ({"consistency": "reboot", "stop_instance": False}, False),
        ({"stop_instance": True}, False),
        ({}, False),
    ],
)
def test_rules_live_bake_is_refused_in_production_only(
    props: dict[str, Any], refused: bool
) -> None:
    assert (rules.live_bake(BAKED_IMAGE, props, PRODUCTION) is not None) is refused
    assert rules.live_bake(BAKED_IMAGE, props, Stack()) is None


def test_rules_production_rollout_keeps_90_percent_in_service() -> None:
    assert "90" in str(
        rules.low_min_healthy(INSTANCE_REFRESH, {"min_healthy_percentage": 50}, PRODUCTION)
    )
    assert (
        rules.low_min_healthy(INSTANCE_REFRESH, {"min_healthy_percentage": 90}, PRODUCTION) is None
    )
    assert rules.low_min_healthy(INSTANCE_REFRESH, {"min_healthy_percentage": 0}, Stack()) is None


def test_rules_production_instances_require_imdsv2() -> None:
    required = {"metadataOptions": {"httpTokens": "required"}}

    assert "IMDSv1" in str(rules.imds_v1_allowed(LAUNCH_TEMPLATE, {}, PRODUCTION))
    assert rules.imds_v1_allowed(LAUNCH_TEMPLATE, required, PRODUCTION) is None
    assert rules.imds_v1_allowed(LAUNCH_TEMPLATE, {}, Stack()) is None


def test_rules_stack_marks_read_config_text() -> None:
    config = {"production": "true", "encrypted": "False"}

    assert Stack.from_config(config.get) == Stack(production=True, encrypted=False)
    assert Stack.from_config({}.get) == Stack()


def _marks(stack: str) -> Stack:
    """The stack file's own ``bakery-policy:*`` marks."""
    config = stack_yaml(stack)
    return Stack.from_config(lambda name: str(config.get(f"{rules.NAMESPACE}:{name}", "")))


@pytest.mark.parametrize("stack", ["dev", "local", "prod", "staging"])
def test_rules_committed_stacks_pass_as_marked(stack: str, program_mocks: ProgramMocks) -> None:
    run_program(stack, stack_yaml(stack), program_mocks)

    assert _violations(program_mocks, _marks(stack)) == {}
    assert _marks(stack).production is (stack == "prod")


def test_rules_dev_marked_production_reports_its_rollout_and_optional_imds(
    program_mocks: ProgramMocks,
) -> None:
    # dev rolls with min_healthy_percentage 0; ImageFleet requires IMDSv2 unless told.
    config = stack_yaml("dev") | {"bakery:fleet.metadata_http_tokens": "optional"}
    run_program("dev", config, program_mocks)

    assert _violations(program_mocks, PRODUCTION) == {
        "bakery-production-min-healthy": ["fleet-rollout"],
        "bakery-production-imdsv2": ["fleet-lt"],
    }
