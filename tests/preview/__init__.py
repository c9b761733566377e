"""Tests of preview/ on the real CLI's JSON documents (tests/fixtures/preview/).

``<case>.json`` is a ``pulumi preview --json`` (or ``destroy --preview-only --json``)
document captured by tests/e2e/test_pr_preview.py; ``<case>.aws.json`` is the lineage
listing pr_preview read from the moto server at that moment, replayed as AWS.
``fleet-rollout.json`` is built by tests/preview_fleet_fixture.py (see there why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "preview"


def document(case: str) -> dict[str, Any]:
    """The captured document ``<case>.json``."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{case}.json").read_text())
    return loaded
