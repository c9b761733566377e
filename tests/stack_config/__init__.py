"""Shared inputs for the stack_config tests: ids that pass, a minimal fleet, problems by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.aws.errors import StackConfigError
from stack_config import load

INSTANCE = "i-0123456789abcdef0"
SUBNET = "subnet-0a1b2c3d4e5f60718"
ROOT = Path(__file__).resolve().parents[2]
CONFIG_DOC = ROOT / "docs" / "config.md"


def fleet(**extra: Any) -> dict[str, Any]:
    """A valid fleet-mode config (flat keys), plus ``extra``."""
    return {
        "bake.instance_id": INSTANCE,
        "mode": "fleet",
        "fleet.instance_type": "t3.micro",
        "fleet.subnet_ids": [SUBNET],
        **extra,
    }


def problems_of(raw: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    """The problems ``load`` raises, by key."""
    with pytest.raises(StackConfigError) as raised:
        load(raw, **kwargs)
    return {p.field: str(p) for p in raised.value.problems}
