"""stack_config.bake: the bake section and its defaults."""

from __future__ import annotations

import stack_config
from stack_config import load
from tests.stack_config import INSTANCE


def test_stack_config_minimal_bake_is_bake_only_with_defaults() -> None:
    config = load({"bake.instance_id": INSTANCE})

    assert config.bake_only and not config.promotes and config.fleet is None
    assert config.bake == stack_config.BakeConfig(instance_id=INSTANCE)
    assert config.promotion == stack_config.PromotionConfig()


def test_stack_config_bake_lifecycle_keys_reach_the_bake_config() -> None:
    config = load(
        {
            "bake.instance_id": INSTANCE,
            "bake.deprecate_after_days": "90",
            "bake.deregistration_protection": "true",
            "bake.share_with_accounts": '["111122223333"]',
            "bake.copy_to_regions": '{"eu-west-1": null}',
            "bake.snapshot_tags": '{"backup": "daily"}',
            "bake.keep_launched_within_days": 30,
        }
    )

    bake = config.bake
    assert bake is not None
    assert bake.deprecate_after_days == 90 and bake.deregistration_protection is True
    assert bake.share_with_accounts == ("111122223333",)
    assert bake.copy_to_regions == {"eu-west-1": None}
    assert bake.snapshot_tags == {"backup": "daily"}
    assert bake.keep_launched_within_days == 30 and bake.prune_shared is False


def test_stack_config_bad_bake_lifecycle_values_name_their_keys() -> None:
    import pytest

    from providers.aws.errors import StackConfigError

    with pytest.raises(StackConfigError) as raised:
        load(
            {
                "bake.instance_id": INSTANCE,
                "bake.deprecate_after_days": -1,
                "bake.share_with_accounts": ["12345"],
                "bake.share_with_organizations": ["o-1"],
                "bake.copy_to_regions": {"eu-atlantis-9": None},
            }
        )

    fields = sorted(p.field for p in raised.value.problems)
    assert fields == [
        "bakery:bake.copy_to_regions.eu-atlantis-9",
        "bakery:bake.deprecate_after_days",
        "bakery:bake.share_with_accounts[0]",
        "bakery:bake.share_with_organizations[0]",
    ]
