"""Stack config as Pulumi's own CLI writes it: `stack init`, `config set --path`.

The stack files are committed with typed YAML (``bakery:fleet.min_size: 1``); the
real CLI rewrites them, and ``pulumi config set --path`` writes nested section
objects next to the flat keys. Both must mean to the program what they meant before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from stack_config import StackConfig, load
from tests.e2e.conftest import Aws
from tests.e2e.pulumi_cli import REPO, Stack, Workspace
from tests.program_fixtures import (
    BAKED_IMAGE,
    INSTANCE_REFRESH,
    engine_config,
    fresh_mocks,
    run_program,
)

pytestmark = pytest.mark.e2e

STACKS = ("dev", "local", "prod", "staging")
PROJECT = "bakery"


def _config_block(text: str) -> dict[str, Any]:
    return dict(yaml.safe_load(text).get("config") or {})


def _decoded(engine: dict[str, str]) -> dict[str, Any]:
    """Engine text with JSON objects and lists decoded (the CLI's JSON has no spaces)."""
    return {k: json.loads(v) if v[:1] in "[{" else v for k, v in engine.items()}


def _evaluated(stack: str, engine: dict[str, str], secret_keys: list[str]) -> StackConfig:
    """What the program reads from that config (``stack_config.from_pulumi``'s ``load``)."""
    return load(
        {k: v for k, v in engine.items() if k.startswith("bakery:")},
        region=engine.get("aws:region"),
        stack=stack,
        project=PROJECT,
        secret_keys=secret_keys,
    )


def _engine_view(stack: Stack) -> tuple[dict[str, str], list[str]]:
    """The config as the CLI hands it to the program: text values and the secret keys."""
    shown = json.loads(stack.run("config", "--json", "--show-secrets").check().stdout)
    values = {k: str(v["value"]) for k, v in shown.items()}
    return values, sorted(k for k, v in shown.items() if v.get("secret"))


# A top-level scalar as YAML types it (3, true) rather than as the CLI writes it ("3").
_QUOTED_SCALAR = re.compile(r'^(  [\w.:-]+: )"(-?\d+(?:\.\d+)?|true|false)"', re.M)


def _salted(text: str, rewritten: str) -> str:
    """``text`` plus the ``encryptionsalt:`` line `stack init` appended to ``rewritten``."""
    (salt,) = [line for line in rewritten.splitlines() if line.startswith("encryptionsalt: ")]
    return text + salt + "\n"


@pytest.mark.parametrize("name", STACKS)
def test_stack_init_leaves_each_committed_stack_file_as_it_is(
    workspace: Workspace, name: str
) -> None:
    # The files are committed in the CLI's own form (top-level scalars quoted), so
    # `stack init` only appends the passphrase salt, and the program reads them as ever.
    committed = (REPO / f"Pulumi.{name}.yaml").read_text()
    stack = Stack(workspace, name).init()
    rewritten = (workspace.project / f"Pulumi.{name}.yaml").read_text()

    assert rewritten == _salted(committed, rewritten)
    engine, secrets = _engine_view(stack)
    old = _config_block(committed)
    assert _decoded(engine) == _decoded(engine_config(old))
    assert _evaluated(name, engine, secrets) == _evaluated(name, engine_config(old), [])


@pytest.mark.parametrize("name", STACKS)
def test_stack_init_quotes_typed_scalars_and_the_meaning_stays(
    workspace: Workspace, name: str
) -> None:
    committed = (REPO / f"Pulumi.{name}.yaml").read_text()
    typed = _QUOTED_SCALAR.sub(r"\1\2", committed)
    assert typed != committed
    (workspace.project / f"Pulumi.typed-{name}.yaml").write_text(typed)

    stack = Stack(workspace, f"typed-{name}").init()
    rewritten = (workspace.project / f"Pulumi.typed-{name}.yaml").read_text()

    # What `stack init` v3.274.0 does to a stack file: every top-level number and flag
    # quoted ("1", "true"), the passphrase salt appended; lists, maps, comments kept.
    assert rewritten == _salted(committed, rewritten)
    engine, secrets = _engine_view(stack)
    assert _evaluated(name, engine, secrets) == _evaluated(
        name, engine_config(_config_block(typed)), []
    )


def test_config_set_path_on_bake_and_fleet_keys_evaluates_like_flat_keys(
    workspace: Workspace,
) -> None:
    stack = Stack(workspace, "dev").init()
    flat = _evaluated("dev", *_engine_view(stack))
    for args in (
        ("bakery:bake.tags.owner", "web"),
        ("bakery:bake.timeouts.snapshots", "240"),
        ("bakery:fleet.tags.team", "web"),
        ("bakery:fleet.checkpoint_percentages[0]", "50"),
        ("bakery:fleet.checkpoint_percentages[1]", "100"),
        ("bakery:fleet.checkpoint_delay_s", "300"),
        ("bakery:fleet.checkpoint_delay_s", "60"),
        ("bakery:fleet.desired_capacity", "1", "--type", "string"),
        ("bakery:fleet.auto_rollback", "false"),
        ("bakery:fleet.min_size", "1"),  # the flat key's value again: no conflict
    ):
        stack.run("config", "set", "--path", *args).check()
    written = _config_block((workspace.project / "Pulumi.dev.yaml").read_text())

    assert written["bakery:bake"] == {"tags": {"owner": "web"}, "timeouts": {"snapshots": 240}}
    assert written["bakery:fleet"]["desired_capacity"] == "1"
    nested = _evaluated("dev", *_engine_view(stack))
    assert nested.bake is not None and flat.bake is not None
    assert nested.bake.tags == {**flat.bake.tags, "owner": "web"}
    assert nested.bake.timeouts == {"snapshots": 240.0}
    assert nested.fleet is not None and flat.fleet is not None
    assert nested.fleet.tags == {**flat.fleet.tags, "team": "web"}
    assert nested.fleet.refresh.checkpoint_percentages == (50, 100)
    assert (nested.fleet.desired_capacity, nested.fleet.min_size) == (1, 1)
    assert nested.fleet.refresh.auto_rollback is False

    # The whole program, under the mocks, on exactly what the CLI passes.
    engine, secrets = _engine_view(stack)
    mocks = fresh_mocks()
    program_mocks = next(mocks)
    try:
        run_program("dev", engine, program_mocks, secret_keys=secrets)
    finally:
        next(mocks, None)
    assert program_mocks.one(BAKED_IMAGE).inputs["tags"]["owner"] == "web"
    refresh = program_mocks.one(INSTANCE_REFRESH).inputs
    assert refresh["checkpoint_percentages"] == [50, 100] and refresh["auto_rollback"] is False


def test_config_set_path_previews_cleanly_and_a_conflict_fails_naming_both_keys(
    stack: Stack, aws: Aws
) -> None:
    stack.run("config", "set", "--path", "bakery:bake.tags.team", "web").check()
    stack.run("config", "set", "--path", "bakery:bake.description", "nested").check()

    clean = stack.preview("--diff")
    assert clean.returncode == 0, clean.output
    assert "team" in clean.output and "invalid stack config" not in clean.output

    # Pulumi.local.yaml sets bakery:bake.tags: {env: local} flat.
    stack.run("config", "set", "--path", "bakery:bake.tags.env", "other").check()
    conflict = stack.preview()

    assert conflict.returncode != 0
    assert "bakery:bake.tags.env" in conflict.output
    assert "bakery:bake.tags sets it to 'local' and bakery:bake to 'other'" in conflict.output
    assert not aws.images()
