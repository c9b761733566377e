"""The fleet-rollout preview fixture: the engine's JSON shape, resources from a mocks run.

A fleet stack cannot run under the real CLI here (no pulumi-aws plugin), so
``tests/fixtures/preview/fleet-rollout.json`` is built, not captured:

- the resources (type, name, inputs) are what ``__main__.py`` registers for the
  committed ``staging`` stack under Pulumi mocks (tests/program_fixtures.py), once
  with its triggers (the old state, with the mocks' outputs) and once with
  ``bakery:bake.triggers`` bumped (the new inputs);
- the document has the shape of the real CLI's ``pulumi preview --json``, as in the
  captured fixtures beside it (``steps`` with ``op``, ``urn``, ``provider``,
  ``oldState``/``newState``; ``replaceReasons`` on replacements; ``changeSummary``),
  with the unchanged resources listed as ``--show-sames`` lists them;
- what the engine would not know at preview is the unknown marker: the new image id
  (the BakedImage is replaced) and what depends on it (the launch template's
  ``imageId``, the refresh's ``image_id`` and ``launch_template_version``);
- parents are inferred (``fleet-*`` resources are children of the ImageFleet), whole
  numbers are ints as in the CLI's JSON, and the keys the provider's ``check`` adds
  (``bake_id``, ``name``) are absent because mocks skip ``check``.

Regenerate with ``python -m tests.preview_fleet_fixture``; a unit test checks the
committed file is what this module builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from preview.report import BAKED_IMAGE, INSTANCE_REFRESH, UNKNOWN
from tests.program_fixtures import ProgramMocks, Registration, run_program, stack_yaml

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "preview" / "fleet-rollout.json"
STACK, PROJECT = "staging", "bakery"
NEW_TRIGGER = "release-2026.11.3"
FLEET_TYPE = "bakery:index:ImageFleet"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# Inputs that follow the new image: unknown until the bake has run.
FOLLOWS_IMAGE = {
    LAUNCH_TEMPLATE: ("imageId",),
    INSTANCE_REFRESH: ("image_id", "launch_template_version"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items()) if k != "__provider"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _registrations(config: dict[str, Any]) -> tuple[list[Registration], ProgramMocks]:
    mocks = ProgramMocks()
    try:
        run_program(STACK, config, mocks)
    finally:
        pulumi.runtime.set_all_config({}, [])
    return mocks.registrations, mocks


def _urn(reg: Registration) -> str:
    qualified = f"{FLEET_TYPE}${reg.typ}" if reg.name.startswith("fleet-") else reg.typ
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{reg.name}"


def _parent(reg: Registration) -> str:
    if reg.name.startswith("fleet-"):
        return f"urn:pulumi:{STACK}::{PROJECT}::{FLEET_TYPE}::fleet"
    return STACK_URN


def _state(reg: Registration, inputs: dict[str, Any], outputs: dict[str, Any] | None) -> dict:
    state: dict[str, Any] = {
        "urn": _urn(reg),
        "custom": reg.custom,
        "type": reg.typ,
        "inputs": inputs,
        "parent": _parent(reg),
    }
    if outputs is not None:
        state["id"] = outputs.get("image_id") or f"{reg.name}-id"
        state["outputs"] = outputs
    return state


def build() -> dict[str, Any]:
    """The preview document of a trigger change on the staging fleet stack."""
    config = stack_yaml(STACK)
    old_regs, old_mocks = _registrations(config)
    new_regs, _ = _registrations({**config, "bakery:bake.triggers": [NEW_TRIGGER]})
    old_by_key = {(r.typ, r.name): r for r in old_regs}
    steps: list[dict[str, Any]] = []
    summary = {"same": 1}
    steps.append({"op": "same", "urn": STACK_URN, "detailedDiff": None})
    # Registration order varies between runs (the SDK registers asynchronously).
    for new in sorted(new_regs, key=lambda r: (r.typ, r.name)):
        old = old_by_key[(new.typ, new.name)]
        old_in, new_in = _plain(old.inputs), _plain(new.inputs)
        for key in FOLLOWS_IMAGE.get(new.typ, ()):
            new_in[key] = UNKNOWN
        if new.typ == BAKED_IMAGE:
            outs = _plain({**old.inputs, **_mock_outputs(old_mocks, old)})
        else:
            outs = {**old_in}
        changed = sorted(k for k in {*old_in, *new_in} if old_in.get(k) != new_in.get(k))
        op = "same" if not changed else "replace" if new.typ == BAKED_IMAGE else "update"
        summary[op] = summary.get(op, 0) + 1
        step: dict[str, Any] = {
            "op": op,
            "urn": _urn(new),
            "oldState": _state(old, old_in, outs),
            "newState": _state(new, new_in, None),
            "detailedDiff": None,
        }
        if op == "replace":  # the CLI gives reasons for replacements only
            step["replaceReasons"] = changed
        steps.append(step)
    return {"config": {}, "steps": steps, "changeSummary": summary}


def _mock_outputs(mocks: ProgramMocks, reg: Registration) -> dict[str, Any]:
    """The outputs the mocks gave the old resource (asked again: they are pure)."""
    args = pulumi.runtime.MockResourceArgs(reg.typ, reg.name, reg.inputs, "", "", reg.custom)
    _, outs = mocks.new_resource(args)
    return dict(outs)


def render() -> str:
    return json.dumps(build(), indent=4, sort_keys=True) + "\n"


if __name__ == "__main__":
    FIXTURE.write_text(render())
    print(FIXTURE)
