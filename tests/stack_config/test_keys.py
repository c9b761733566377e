"""stack_config.keys: the key table agrees with docs/config.md and with ImageFleet.

That every key has a docs row (in docs/config.md or another docs page) and no row names
a key the code does not read is tests/test_docs.py's check, over every page.
"""

from __future__ import annotations

import re

import stack_config
from providers.aws.rules import fleet as fleet_shape
from stack_config import KEYS
from tests.stack_config import CONFIG_DOC


def test_stack_config_docs_table_lists_keys_once_each_in_the_code_order() -> None:
    rows = re.findall(r"^\| `bakery:([a-z_.]+)` \|", CONFIG_DOC.read_text(), flags=re.M)

    assert rows, "docs/config.md lost its key table"
    # Each row once, in KEYS order (today that is every key; a key documented on a
    # page of its own may be missing here, and tests/test_docs.py finds it there).
    assert rows == [k for k in KEYS if k in rows]


def test_stack_config_choices_are_the_fleet_rules_own() -> None:
    # Written once (providers/aws/rules/fleet.py), for config, component and providers.
    assert stack_config.ROLLOUTS is fleet_shape.ROLLOUTS
    assert stack_config.LAUNCH_KINDS is fleet_shape.LAUNCH_KINDS
    assert stack_config.HEALTH_CHECK_TYPES is fleet_shape.HEALTH_CHECK_TYPES
