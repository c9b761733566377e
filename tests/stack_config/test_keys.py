"""stack_config.keys: the key table agrees with the README and with ImageFleet."""

from __future__ import annotations

import re

import stack_config
from components import image_fleet
from stack_config import KEYS
from tests.stack_config import README


def test_stack_config_readme_table_lists_every_key_and_no_other() -> None:
    rows = re.findall(r"^\| `bakery:([a-z_.]+)` \|", README.read_text(), flags=re.M)

    assert rows == list(KEYS)


def test_stack_config_choices_match_imagefleet() -> None:
    assert stack_config.ROLLOUTS == image_fleet.ROLLOUTS
    assert stack_config.LAUNCH_KINDS == image_fleet.LAUNCH_KINDS
    assert stack_config.HEALTH_CHECK_TYPES == image_fleet.HEALTH_CHECK_TYPES
