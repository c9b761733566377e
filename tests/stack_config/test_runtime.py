"""stack_config.runtime: the running stack's config, read through pulumi.Config."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pulumi
import pytest

from providers.aws.errors import StackConfigError
from stack_config import from_pulumi
from tests.stack_config import INSTANCE, SUBNET


@pytest.fixture(autouse=True)
def _clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    yield
    pulumi.runtime.set_all_config({}, [])


def test_runtime_reads_keys_sections_and_secrets_as_the_engine_passes_them() -> None:
    pulumi.runtime.set_all_config(
        {
            "bakery:bake.instance_id": INSTANCE,
            "bakery:mode": "fleet",
            "bakery:fleet": json.dumps(
                {"instance_type": "t3.micro", "subnet_ids": [SUBNET], "user_data": "x"}
            ),
            "bakery:fleet.min_size": "0",
            "aws:region": "eu-west-1",
        },
        ["bakery:fleet"],
    )

    config = from_pulumi()

    assert config.region == "eu-west-1"
    assert config.fleet is not None and config.fleet.min_size == 0
    assert config.fleet.subnet_ids == (SUBNET,)
    assert "fleet.user_data" in config.secret_keys
    assert "bake.instance_id" not in config.secret_keys


def test_runtime_reports_a_misspelt_key_the_cli_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    passed = {"bakery:bake.instance_id": INSTANCE, "bakery:bake.trigers": '["x"]'}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(passed))
    pulumi.runtime.set_all_config(passed, [])

    with pytest.raises(StackConfigError, match=r"did you mean bakery:bake\.triggers\?"):
        from_pulumi()
