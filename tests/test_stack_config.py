"""stack_config.load: parsing as the engine sends values, and every rule, each naming its key."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

import stack_config
from components import image_fleet
from providers.aws.errors import StackConfigError
from stack_config import KEYS, load

INSTANCE = "i-0123456789abcdef0"
SUBNET = "subnet-0a1b2c3d4e5f60718"
README = Path(__file__).resolve().parent.parent / "README.md"


def _fleet(**extra: Any) -> dict[str, Any]:
    return {
        "bake.instance_id": INSTANCE,
        "mode": "fleet",
        "fleet.instance_type": "t3.micro",
        "fleet.subnet_ids": [SUBNET],
        **extra,
    }


def _problems(raw: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    """The problems ``load`` raises, by key."""
    with pytest.raises(StackConfigError) as raised:
        load(raw, **kwargs)
    return {p.field: str(p) for p in raised.value.problems}


# --- happy paths ---------------------------------------------------------------------


def test_stack_config_minimal_bake_is_bake_only_with_defaults() -> None:
    config = load({"bake.instance_id": INSTANCE})

    assert config.bake_only and not config.promotes and config.fleet is None
    assert config.bake == stack_config.BakeConfig(instance_id=INSTANCE)
    assert config.promotion == stack_config.PromotionConfig()


def test_stack_config_engine_strings_are_parsed_by_kind() -> None:
    config = load(
        _fleet(
            **{
                "bake.triggers": '["patch-1", 2]',
                "bake.tags": '{"team": "web"}',
                "bake.stop_instance": "false",
                "bake.keep_previous": "3",
                "bake.timeouts": '{"snapshots": 240}',
                "fleet.min_size": "2",
                "fleet.max_size": "4.0",
                "fleet.subnet_ids": f"{SUBNET}, subnet-0b1c2d3e4f5a60718",
                "fleet.checkpoint_percentages": "[50, 100]",
                "fleet.rollout_timeout_s": "90.5",
                "fleet.auto_rollback": "False",
            }
        ),
        region="eu-west-1",
    )

    assert config.bake is not None and config.fleet is not None
    assert config.bake.triggers == ("patch-1", 2)
    assert config.bake.tags == {"team": "web"}
    assert config.bake.stop_instance is False
    assert config.bake.keep_previous == 3
    assert config.bake.timeouts == {"snapshots": 240.0}
    assert (config.fleet.min_size, config.fleet.max_size) == (2, 4)
    assert config.fleet.subnet_ids == (SUBNET, "subnet-0b1c2d3e4f5a60718")
    assert config.fleet.checkpoint_percentages == (50, 100)
    assert config.fleet.rollout_timeout_s == 90.5
    assert config.fleet.auto_rollback is False
    assert config.region == "eu-west-1"


def test_stack_config_accepts_the_bakery_prefix_and_section_objects() -> None:
    config = load(
        {
            "bakery:bake": json.dumps({"instance_id": INSTANCE, "keep_previous": 2}),
            "bakery:mode": "fleet",
            "fleet": {"instance_type": "t3.micro", "subnet_ids": [SUBNET], "min_size": 0},
        }
    )

    assert config.bake is not None and config.bake.keep_previous == 2
    assert config.fleet is not None and config.fleet.min_size == 0


def test_stack_config_promotion_needs_no_bake() -> None:
    config = load(
        {
            "promote.from_stack": "org/bakery/staging",
            "promote.source_region": "us-east-1",
            "promote.share_with_accounts": ["012345678901"],
        },
        region="eu-west-1",
        stack="prod",
        project="bakery",
    )

    assert config.bake is None and config.promotes and config.copies
    assert config.promotion.share_with_accounts == ("012345678901",)


def test_stack_config_promotion_in_the_same_region_does_not_copy() -> None:
    config = load({"promote.from_stack": "staging"}, region="us-east-1", stack="prod")

    assert not config.copies
    assert load({"promote.from_stack": "staging", "promote.copy": "true"}, stack="prod").copies


def test_stack_config_fleet_fields_match_image_fleet_args() -> None:
    fleet_fields = {f.name for f in dataclasses.fields(stack_config.FleetConfig)}
    args_fields = {f.name for f in dataclasses.fields(image_fleet.ImageFleetArgs)}

    assert fleet_fields == args_fields - {"image_id", "region", "endpoint_url"}
    assert {f"fleet.{name}" for name in fleet_fields} == {k for k in KEYS if k.startswith("fleet.")}
    for name in fleet_fields:
        default = dataclasses.fields(image_fleet.ImageFleetArgs)
        want = next(f for f in default if f.name == name)
        if want.default is not dataclasses.MISSING:
            got = KEYS[f"fleet.{name}"].default
            assert got == want.default or (got, want.default) == (None, None), name


def test_stack_config_choices_match_image_fleet() -> None:
    assert stack_config.ROLLOUTS == image_fleet.ROLLOUTS
    assert stack_config.LAUNCH_KINDS == image_fleet.LAUNCH_KINDS
    assert stack_config.HEALTH_CHECK_TYPES == image_fleet.HEALTH_CHECK_TYPES


def test_stack_config_readme_table_lists_every_key_and_no_other() -> None:
    rows = re.findall(r"^\| `bakery:([a-z_.]+)` \|", README.read_text(), flags=re.M)

    assert rows == list(KEYS)


# --- every rule names its key --------------------------------------------------------


def test_stack_config_missing_instance_id_names_the_key() -> None:
    problems = _problems({})

    assert list(problems) == ["bakery:bake.instance_id"]
    assert "bakery:promote.from_stack" in problems["bakery:bake.instance_id"]


def test_stack_config_source_instance_and_image_stack_both_set_names_both_keys() -> None:
    problems = _problems(
        {"bake.instance_id": INSTANCE, "promote.from_stack": "staging", "bake.triggers": ["x"]},
        stack="prod",
    )

    message = problems["bakery:bake.instance_id"]
    assert "bakery:promote.from_stack" in message
    assert "bakery:bake.triggers" in problems


def test_stack_config_min_above_max_names_min_size() -> None:
    problems = _problems(_fleet(**{"fleet.min_size": 5, "fleet.max_size": 3}))

    assert "make min_size <= max_size" in problems["bakery:fleet.min_size"]


def test_stack_config_desired_outside_bounds_names_desired_capacity() -> None:
    problems = _problems(_fleet(**{"fleet.max_size": 2, "fleet.desired_capacity": 3}))

    assert list(problems) == ["bakery:fleet.desired_capacity"]


def test_stack_config_unknown_rollout_strategy_names_the_key() -> None:
    problems = _problems(_fleet(**{"fleet.rollout": "canary"}))

    assert "rolling, blue_green" in problems["bakery:fleet.rollout"]


def test_stack_config_rolling_with_launch_configuration_is_refused() -> None:
    problems = _problems(_fleet(**{"fleet.launch": "configuration"}))

    assert "blue_green" in problems["bakery:fleet.rollout"]
    load(_fleet(**{"fleet.launch": "configuration", "fleet.rollout": "blue_green"}))


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
    raw = _fleet()
    for name, value in extra.items():
        if value is None:
            raw.pop(name)
        else:
            raw[name] = value

    assert key in _problems(raw, region="us-east-1")


def test_stack_config_unknown_key_suggests_the_close_one() -> None:
    problems = _problems(_fleet(**{"fleet.min_sise": 1}))

    assert "did you mean bakery:fleet.min_size?" in problems["bakery:fleet.min_sise"]


def test_stack_config_collects_every_problem_before_raising() -> None:
    problems = _problems(
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
        load(_fleet(**{"fleet.min_size": 5, "fleet.max_size": 3, "fleet.rollout": "x"}))

    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid stack config (2 problems):"
    assert lines[1].startswith("  - bakery:fleet.min_size is 5:")


def test_stack_config_fleet_keys_in_bake_only_mode_are_refused() -> None:
    problems = _problems({"bake.instance_id": INSTANCE, "fleet.min_size": 2})

    assert "bakery:mode is bake-only" in problems["bakery:fleet.min_size"]


def test_stack_config_local_endpoint_with_a_fleet_is_refused() -> None:
    problems = _problems(_fleet(**{"bake.endpoint_url": "http://127.0.0.1:5000"}))

    assert "bake-only" in problems["bakery:bake.endpoint_url"]


def test_stack_config_key_set_flat_and_in_its_section_is_refused() -> None:
    problems = _problems({"bake.instance_id": INSTANCE, "bake": {"instance_id": INSTANCE}})

    assert "keep one" in problems["bakery:bake.instance_id"]


def test_stack_config_section_that_is_not_a_map_is_refused() -> None:
    assert "bakery:fleet" in _problems({"bake.instance_id": INSTANCE, "fleet": "big"})


def test_stack_config_promoting_from_itself_is_refused() -> None:
    problems = _problems({"promote.from_stack": "org/bakery/prod"}, stack="prod", project="bakery")

    assert "that is this stack" in problems["bakery:promote.from_stack"]
    load({"promote.from_stack": "org/other/prod"}, stack="prod", project="bakery")


def test_stack_config_bad_stack_name_is_refused() -> None:
    assert "bakery:promote.from_stack" in _problems({"promote.from_stack": "a/b/c/d"})


def test_stack_config_source_region_needs_aws_region() -> None:
    problems = _problems({"promote.from_stack": "staging", "promote.source_region": "us-east-1"})

    assert "aws:region" in problems


def test_stack_config_kms_key_without_a_copy_is_refused() -> None:
    kms = "arn:aws:kms:us-east-1:111122223333:key/abcd"
    problems = _problems(
        {"promote.from_stack": "staging", "promote.kms_key_id": kms}, region="us-east-1"
    )

    assert "bakery:promote.copy" in problems["bakery:promote.kms_key_id"]
    load(
        {"promote.from_stack": "staging", "promote.kms_key_id": kms, "promote.copy": True},
        region="us-east-1",
    )


def test_stack_config_bad_region_names_aws_region() -> None:
    assert "aws:region" in _problems({"bake.instance_id": INSTANCE}, region="Europe")


def test_stack_config_secret_keys_and_secret_sections_are_recorded() -> None:
    flat = load(_fleet(**{"fleet.user_data": "x"}), secret_keys=["bakery:fleet.user_data"])
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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_stack_config_and_program_keep_their_layers() -> None:
    root = README.parent
    config_imports = _imports(root / "stack_config.py")
    program_imports = _imports(root / "__main__.py")

    assert not {m for m in config_imports if m.split(".")[0] in ("boto3", "botocore")}
    assert not {m for m in config_imports if m.startswith(("components", "providers.baked"))}
    assert {m for m in config_imports if m.startswith("providers")} <= {
        "providers.aws",
        "providers.aws.errors",
    }
    assert not {m for m in program_imports if m.split(".")[0] in ("boto3", "botocore")}
