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
