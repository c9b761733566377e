"""stack_config.merge: flat keys and the section objects `pulumi config set --path` writes."""

from __future__ import annotations

import json

from stack_config import load
from tests.stack_config import INSTANCE, SUBNET, fleet, problems_of


def test_merge_accepts_the_bakery_prefix_and_section_objects() -> None:
    config = load(
        {
            "bakery:bake": json.dumps({"instance_id": INSTANCE, "keep_previous": 2}),
            "bakery:mode": "fleet",
            "fleet": {"instance_type": "t3.micro", "subnet_ids": [SUBNET], "min_size": 0},
        }
    )

    assert config.bake is not None and config.bake.keep_previous == 2
    assert config.fleet is not None and config.fleet.min_size == 0


def test_merge_flat_map_and_path_entries_merge_key_by_key() -> None:
    # pulumi config set bakery:bake.tags '{"env": "dev"}', then
    # pulumi config set --path 'bakery:bake.tags.team' web (engine strings, as passed)
    config = load(
        {
            "bakery:bake.instance_id": INSTANCE,
            "bakery:bake.tags": '{"env": "dev"}',
            "bakery:bake": '{"tags": {"team": "web"}, "timeouts": {"snapshots": 240}}',
            "bakery:bake.timeouts": '{"image": 60}',
        }
    )

    assert config.bake is not None
    assert config.bake.tags == {"env": "dev", "team": "web"}
    assert config.bake.timeouts == {"snapshots": 240.0, "image": 60.0}


def test_merge_same_value_in_both_forms_is_kept_once() -> None:
    config = load(
        fleet(
            **{
                "fleet.min_size": "2",
                "fleet.max_size": "3",
                "fleet.subnet_ids": SUBNET,
                "fleet": {"min_size": 2, "subnet_ids": [SUBNET], "auto_rollback": "false"},
                "fleet.auto_rollback": False,
            }
        )
    )

    assert config.fleet is not None
    assert (config.fleet.min_size, config.fleet.subnet_ids) == (2, (SUBNET,))
    assert config.fleet.refresh.auto_rollback is False


def test_merge_conflicting_values_fail_naming_both_keys() -> None:
    problems = problems_of(
        fleet(
            **{
                "bakery:bake.tags": '{"env": "dev", "team": "platform"}',
                "bakery:bake": '{"tags": {"team": "web"}}',
                "fleet.min_size": "1",
                "fleet": {"min_size": 2},
            }
        )
    )

    team = problems["bakery:bake.tags.team"]
    assert "bakery:bake.tags sets it to 'platform'" in team
    assert "bakery:bake to 'web'" in team and "--path" in team
    size = problems["bakery:fleet.min_size"]
    assert "bakery:fleet.min_size sets it to '1'" in size and "bakery:fleet to 2" in size
    assert "bakery:bake.tags.env" not in problems


def test_merge_key_set_flat_and_in_its_section_differently_is_refused() -> None:
    other = "i-0fedcba9876543210"
    problems = problems_of({"bake.instance_id": INSTANCE, "bake": {"instance_id": other}})

    assert "keep one" in problems["bakery:bake.instance_id"]
    assert load({"bake.instance_id": INSTANCE, "bake": {"instance_id": INSTANCE}}).bake


def test_merge_section_that_is_not_a_map_is_refused() -> None:
    assert "bakery:fleet" in problems_of({"bake.instance_id": INSTANCE, "fleet": "big"})


def test_merge_only_settings_from_a_secret_section_are_secret() -> None:
    config = load(
        fleet(**{"fleet": {"user_data": "x", "tags": {"a": "b"}}, "fleet.tags": {"c": "d"}}),
        secret_keys=["bakery:fleet"],
    )

    assert config.secret_keys == {"fleet.user_data", "fleet.tags"}


def test_merge_conflict_names_the_flat_key_first_whatever_the_order() -> None:
    problems = problems_of(
        {"bakery:bake": '{"keep_previous": 2}', "bakery:bake.keep_previous": "3"}
        | {"bakery:bake.instance_id": INSTANCE}
    )

    assert (
        "bakery:bake.keep_previous sets it to '3' and bakery:bake to 2 "
        "(as `pulumi config set --path 'bakery:bake.keep_previous'` writes it)"
    ) in problems["bakery:bake.keep_previous"]
