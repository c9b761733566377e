"""stack_config.parse: engine strings by kind, section objects, unknown keys."""

from __future__ import annotations

import json

from stack_config import load
from tests.stack_config import INSTANCE, SUBNET, fleet, problems_of


def test_stack_config_engine_strings_are_parsed_by_kind() -> None:
    config = load(
        fleet(
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


def test_stack_config_key_set_flat_and_in_its_section_is_refused() -> None:
    problems = problems_of({"bake.instance_id": INSTANCE, "bake": {"instance_id": INSTANCE}})

    assert "keep one" in problems["bakery:bake.instance_id"]


def test_stack_config_section_that_is_not_a_map_is_refused() -> None:
    assert "bakery:fleet" in problems_of({"bake.instance_id": INSTANCE, "fleet": "big"})


def test_stack_config_unknown_key_suggests_the_close_one() -> None:
    problems = problems_of(fleet(**{"fleet.min_sise": 1}))

    assert "did you mean bakery:fleet.min_size?" in problems["bakery:fleet.min_sise"]
