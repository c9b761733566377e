"""stack_config.stack: load() over all sections, every rule naming its key, one error."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws.errors import StackConfigError
from stack_config import load
from tests.stack_config import INSTANCE, SUBNET, fleet, problems_of


def test_stack_config_missing_instance_id_names_the_key() -> None:
    problems = problems_of({})

    assert list(problems) == ["bakery:bake.instance_id"]
    assert "bakery:promote.from_stack" in problems["bakery:bake.instance_id"]


def test_stack_config_source_instance_and_image_stack_both_set_names_both_keys() -> None:
    problems = problems_of(
        {"bake.instance_id": INSTANCE, "promote.from_stack": "staging", "bake.triggers": ["x"]},
        stack="prod",
    )

    message = problems["bakery:bake.instance_id"]
    assert "bakery:promote.from_stack" in message
    assert "bakery:bake.triggers" in problems


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"mode": "canary"}, "bakery:mode"),
        ({"fleet.instance_type": None}, "bakery:fleet.instance_type"),
        ({"fleet.subnet_ids": []}, "bakery:fleet.subnet_ids"),
        ({"fleet.subnet_ids": ["subnet-xyz"]}, "bakery:fleet.subnet_ids[0]"),
        ({"fleet.security_group_ids": ["web"]}, "bakery:fleet.security_group_ids[0]"),
        ({"fleet.target_group_arns": ["tg-1"]}, "bakery:fleet.target_group_arns[0]"),
        ({"fleet.health_check_type": "HTTP"}, "bakery:fleet.health_check_type"),
        ({"fleet.health_check_grace_period_s": -1}, "bakery:fleet.health_check_grace_period_s"),
        ({"fleet.launch": "spot"}, "bakery:fleet.launch"),
        ({"fleet.min_healthy_percentage": 101}, "bakery:fleet.min_healthy_percentage"),
        ({"fleet.instance_warmup_s": -5}, "bakery:fleet.instance_warmup_s"),
        ({"fleet.checkpoint_delay_s": "soon"}, "bakery:fleet.checkpoint_delay_s"),
        ({"fleet.checkpoint_percentages": [50, 20]}, "bakery:fleet.checkpoint_percentages"),
        ({"fleet.checkpoint_percentages": [20, 50]}, "bakery:fleet.checkpoint_percentages"),
        ({"fleet.rollout_timeout_s": 0}, "bakery:fleet.rollout_timeout_s"),
        ({"fleet.min_size": "two"}, "bakery:fleet.min_size"),
        ({"fleet.min_size": 1.5}, "bakery:fleet.min_size"),
        ({"fleet.skip_matching": "yes"}, "bakery:fleet.skip_matching"),
        ({"fleet.tags": {"bakery:fleet": "x"}}, "bakery:fleet.tags.bakery:fleet"),
        ({"fleet.tags": "team=web"}, "bakery:fleet.tags"),
        ({"bake.instance_id": "i-123"}, "bakery:bake.instance_id"),
        ({"bake.name": "a"}, "bakery:bake.name"),
        ({"bake.description": "x" * 256}, "bakery:bake.description"),
        ({"bake.triggers": [{"a": 1}]}, "bakery:bake.triggers[0]"),
        ({"bake.triggers": "[unclosed"}, "bakery:bake.triggers"),
        ({"bake.tags": {"aws:x": "y"}}, "bakery:bake.tags.aws:x"),
        ({"bake.keep_previous": -1}, "bakery:bake.keep_previous"),
        ({"bake.timeouts": {"forever": 1}}, "bakery:bake.timeouts.forever"),
        ({"bake.stop_instance": 1}, "bakery:bake.stop_instance"),
        ({"bake.consistency": "freeze"}, "bakery:bake.consistency"),
        (
            {"bake.consistency": "reboot", "bake.stop_instance": True},
            "bakery:bake.stop_instance",
        ),
        ({"bake.endpoint_url": "localhost:5000"}, "bakery:bake.endpoint_url"),
        ({"bake.name": 5}, "bakery:bake.name"),
        ({"fleet.min_sise": 1}, "bakery:fleet.min_sise"),
        ({"promote.copy": True}, "bakery:promote.copy"),
        ({"promote.source_region": "us-east-1"}, "bakery:promote.source_region"),
        ({"promote.kms_key_id": "alias/x"}, "bakery:promote.kms_key_id"),
        ({"promote.share_with_accounts": [12345678901]}, "bakery:promote.share_with_accounts[0]"),
        ({"promote.share_with_accounts": ["1234"]}, "bakery:promote.share_with_accounts[0]"),
    ],
)
def test_stack_config_bad_value_names_its_key(extra: dict[str, Any], key: str) -> None:
    raw = fleet()
    for name, value in extra.items():
        if value is None:
            raw.pop(name)
        else:
            raw[name] = value

    assert key in problems_of(raw, region="us-east-1")


def test_stack_config_collects_every_problem_before_raising() -> None:
    problems = problems_of(
        {
            "mode": "fleet",
            "fleet.min_size": 5,
            "fleet.max_size": 3,
            "fleet.rollout": "canary",
            "bake.keep_previous": "x",
        }
    )

    assert {
        "bakery:bake.instance_id",
        "bakery:fleet.instance_type",
        "bakery:fleet.subnet_ids",
        "bakery:fleet.min_size",
        "bakery:fleet.rollout",
    } <= set(problems)


def test_stack_config_error_message_lists_each_problem_on_its_own_line() -> None:
    with pytest.raises(StackConfigError) as raised:
        load(fleet(**{"fleet.min_size": 5, "fleet.max_size": 3, "fleet.rollout": "x"}))

    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid stack config (2 problems):"
    assert any(line.startswith("  - bakery:fleet.min_size is 5:") for line in lines[1:])


def test_stack_config_fleet_keys_in_bake_only_mode_are_refused() -> None:
    problems = problems_of({"bake.instance_id": INSTANCE, "fleet.min_size": 2})

    assert "bakery:mode is bake-only" in problems["bakery:fleet.min_size"]


def test_stack_config_local_endpoint_with_a_fleet_is_refused() -> None:
    problems = problems_of(fleet(**{"bake.endpoint_url": "http://127.0.0.1:5000"}))

    assert "bake-only" in problems["bakery:bake.endpoint_url"]


def test_stack_config_bad_region_names_aws_region() -> None:
    assert "aws:region" in problems_of({"bake.instance_id": INSTANCE}, region="Europe")


def test_stack_config_secret_keys_and_secret_sections_are_recorded() -> None:
    flat = load(fleet(**{"fleet.user_data": "x"}), secret_keys=["bakery:fleet.user_data"])
    section = load(
        {"bake.instance_id": INSTANCE, "mode": "fleet", "fleet": {**_fleet_section()}},
        secret_keys=["bakery:fleet"],
    )

    assert flat.secret_keys == {"fleet.user_data"}
    assert (
        "fleet.user_data" in section.secret_keys and "bake.instance_id" not in section.secret_keys
    )


def _fleet_section() -> dict[str, Any]:
    return {"instance_type": "t3.micro", "subnet_ids": [SUBNET], "user_data": "x"}
