"""stack_config.keys: the key table agrees with the README and with ImageFleet."""

from __future__ import annotations

import re

import stack_config
from providers.aws.rules import fleet as fleet_shape
from stack_config import KEYS
from stack_config.keys import DISTRIBUTION_KEYS
from tests.stack_config import README

DISTRIBUTION = README.parent / "docs" / "distribution.md"


def test_stack_config_readme_table_lists_every_key_and_no_other() -> None:
    """The README's table, then docs/distribution.md's (its keys come last in KEYS)."""
    pattern = r"^\| `bakery:([a-z_.]+)` \|"
    rows = re.findall(pattern, README.read_text(), flags=re.M)
    rows += re.findall(pattern, DISTRIBUTION.read_text(), flags=re.M)

    assert rows == list(KEYS)
    assert rows[-len(DISTRIBUTION_KEYS) :] == list(DISTRIBUTION_KEYS)


def test_stack_config_choices_are_the_fleet_rules_own() -> None:
    # Written once (providers/aws/rules/fleet.py), for config, component and providers.
    assert stack_config.ROLLOUTS is fleet_shape.ROLLOUTS
    assert stack_config.LAUNCH_KINDS is fleet_shape.LAUNCH_KINDS
    assert stack_config.HEALTH_CHECK_TYPES is fleet_shape.HEALTH_CHECK_TYPES
