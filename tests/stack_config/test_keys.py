"""stack_config.keys: the key table agrees with the README and with ImageFleet."""

from __future__ import annotations

import re

import stack_config
from providers.aws.rules import fleet as fleet_shape
from stack_config import KEYS
from tests.stack_config import README


def test_stack_config_readme_table_lists_every_key_and_no_other() -> None:
    rows = re.findall(r"^\| `bakery:([a-z_.]+)` \|", README.read_text(), flags=re.M)

    assert rows == list(KEYS)


def test_stack_config_choices_are_the_fleet_rules_own() -> None:
    # Written once (providers/aws/rules/fleet.py), for config, component and providers.
    assert stack_config.ROLLOUTS is fleet_shape.ROLLOUTS
    assert stack_config.LAUNCH_KINDS is fleet_shape.LAUNCH_KINDS
    assert stack_config.HEALTH_CHECK_TYPES is fleet_shape.HEALTH_CHECK_TYPES
