"""`pulumi preview --policy-pack policy` under the real CLI: our language host's
RunPlugin starts the Python pack, the stack's `bakery-policy:*` config reaches it,
and a planted violation fails the preview with the policy named.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Aws
from tests.e2e.pulumi_cli import REPO, Stack

pytestmark = pytest.mark.e2e

PACK = REPO / "policy"


def _pack(tmp_path: Path) -> Path:
    """policy/, with PulumiPolicy.yaml naming the virtualenv running the tests."""
    pack = tmp_path / "policy"
    pack.mkdir()
    for source in PACK.iterdir():
        if source.suffix == ".py":
            (pack / source.name).symlink_to(source)
    text = (PACK / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: ../.venv" in text
    (pack / "PulumiPolicy.yaml").write_text(text.replace("../.venv", sys.prefix))
    return pack


def test_policy_pack_reports_a_planted_violation_and_passes_without_it(
    stack: Stack, aws: Aws, tmp_path: Path
) -> None:
    pack = _pack(tmp_path)
    stack.config_set("bakery-policy:production", "true")
    stack.config_set("bakery:bake.stop_instance", "false")  # consistency live: planted

    refused = stack.preview("--policy-pack", str(pack))

    assert refused.returncode != 0, refused.output
    assert "[mandatory]  bakery-no-live-bake-in-production" in refused.output
    assert "bakery-policy:production is true" in refused.output
    assert "method RunPlugin not implemented" not in refused.output

    stack.config_set("bakery:bake.stop_instance", "true")
    passed = stack.preview("--policy-pack", str(pack))

    assert passed.returncode == 0, passed.output
    assert "bakery@v" in passed.output and "[mandatory]" not in passed.output
    assert not aws.images()
