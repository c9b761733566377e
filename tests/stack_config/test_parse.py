"""stack_config.parse: engine strings by kind, section objects, unknown keys."""

from __future__ import annotations

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
                "fleet.checkpoint_delay_s": "300",
                "fleet.rollout_timeout_s": "90.5",
                "fleet.auto_rollback": "False",
            }
        ),
        region="eu-west-1",
    )

    assert config.bake is not None and config.fleet is not None
    assert config.bake.triggers == ("patch-1", 2)
    assert config.bake.tags == {"team": "web"}
    assert config.bake.consistency == "live"  # from the deprecated stop_instance: false
    assert config.bake.keep_previous == 3
    assert config.bake.timeouts == {"snapshots": 240.0}
    assert (config.fleet.min_size, config.fleet.max_size) == (2, 4)
    assert config.fleet.subnet_ids == (SUBNET, "subnet-0b1c2d3e4f5a60718")
    assert config.fleet.refresh.checkpoint_percentages == (50, 100)
    assert config.fleet.rollout_timeout_s == 90.5
    assert config.fleet.refresh.auto_rollback is False
    assert config.region == "eu-west-1"


def test_stack_config_unknown_key_suggests_the_close_one() -> None:
    problems = problems_of(fleet(**{"fleet.min_sise": 1}))

    assert "did you mean bakery:fleet.min_size?" in problems["bakery:fleet.min_sise"]


def test_parse_numbers_written_as_text_are_numbers_in_lists_and_maps_too() -> None:
    config = load(
        fleet(
            **{
                "bake.timeouts": {"snapshots": "240", "image": "90.5"},
                "fleet.checkpoint_percentages": ["20", "100"],
                "fleet.checkpoint_delay_s": 300,
                "fleet.min_size": " 2 ",
                "fleet.max_size": "3",
            }
        )
    )

    assert config.bake is not None and config.fleet is not None
    assert config.bake.timeouts == {"snapshots": 240.0, "image": 90.5}
    assert config.fleet.refresh.checkpoint_percentages == (20, 100)
    assert (config.fleet.min_size, config.fleet.max_size) == (2, 3)


def test_parse_text_that_is_no_number_is_refused_by_the_rule_naming_its_key() -> None:
    problems = problems_of(
        fleet(
            **{
                "bake.timeouts": {"snapshots": "inf"},
                "fleet.checkpoint_percentages": ["twenty", "100"],
            }
        )
    )

    assert "expected minutes > 0" in problems["bakery:bake.timeouts.snapshots"]
    assert "bakery:fleet.checkpoint_percentages" in problems


def test_parse_map_entry_set_without_path_says_how_to_set_it() -> None:
    problems = problems_of({"bake.instance_id": INSTANCE, "bake.tags.team": "web"})

    assert (
        "`pulumi config set --path 'bakery:bake.tags.team' <value>`"
        in problems["bakery:bake.tags.team"]
    )
