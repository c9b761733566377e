"""A fleet stack written by the previous Bakery: the next ``up`` changes nothing in it.

``tests/fixtures/fleet/previous-main.json`` is what the previous main's ImageFleet
registered (commit 1b9cb54, run under the recording mocks, both rollouts): the
inputs, options and pickled providers (``providers.rollout.*``) its state holds.
The test rebuilds that state on the moto-backed engine (the aws resources made in
moto from those inputs, the rollout resources' outputs as that code wrote them),
then runs today's program with the same settings: only the new FleetIdentity is
created (it adopts the fleet's earlier id, so the group's tags and the rollout
resources stay as they are), and the launch template is updated in place to make its
newest version the default (no new version: nothing rolls).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import ImageFleet, ImageFleetArgs
from providers.aws import tags
from providers.aws.rules.rollout import RefreshPreferences
from tests.harness.moto_engine import Live, MotoEngine, Network
from tests.harness.recording_mocks import GROUP, LAUNCH_TEMPLATE

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fleet" / "previous-main.json"
PARENT = "bakery:index:ImageFleet"


def _substituted(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return subs.get(value, value)
    if isinstance(value, dict):
        return {k: _substituted(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, subs) for v in value]
    return value


def _seed(engine: MotoEngine, network: Network, rollout: str, image: str) -> None:
    """The previous main's state for ``rollout``, with its resources in moto."""
    subs = {"ami-OLDIMAGE": image, "subnet-OLD": network.subnet_id}
    for reg in json.loads(FIXTURE.read_text())[rollout]:
        typ, name = reg["typ"], reg["name"]
        inputs = _substituted(reg["inputs"], subs)
        urn = f"urn:pulumi:{engine.stack}::{engine.project}::{PARENT}${typ}::{name}"
        if typ in (LAUNCH_TEMPLATE, GROUP):
            id_, outputs = engine._create(typ, name, inputs)
            if typ == LAUNCH_TEMPLATE:
                subs["lt-0mock"] = id_
            else:
                subs.update({old: id_ for old in _old_group_names()})
        else:
            id_ = inputs["group_name"]
            extra: dict[str, Any] = (
                {"refresh_id": "", "status": "AlreadyCurrent"}
                if typ.endswith(":InstanceRefresh")
                else {"healthy_instances": [], "retired_groups": []}
            )
            outputs = {**inputs, **extra}
            if typ.endswith(":BlueGreenCutover"):
                engine.autoscaling.create_or_update_tags(
                    Tags=[
                        {
                            "ResourceId": id_,
                            "ResourceType": "auto-scaling-group",
                            "Key": tags.SERVING,
                            "Value": "true",  # what the previous main wrote
                            "PropagateAtLaunch": False,
                        }
                    ]
                )
        engine.live[urn] = Live(urn, typ, name, id_, inputs, outputs, reg["options"])


def _old_group_names() -> set[str]:
    data = json.loads(FIXTURE.read_text())
    return {
        r["inputs"]["group_name"]
        for regs in data.values()
        for r in regs
        if "group_name" in r["inputs"]
    }


@pytest.mark.parametrize("rollout", ["rolling", "blue_green"])
def test_previous_mains_fleet_stack_sees_no_change_but_the_new_fleet_identity(
    moto_engine: MotoEngine, network: Network, rollout: str
) -> None:
    image = network.image("golden-a")
    _seed(moto_engine, network, rollout, image)
    group = next(live.id for live in moto_engine.live.values() if live.typ == GROUP)
    before = moto_engine.groups()[group]
    template = next(live.id for live in moto_engine.live.values() if live.typ == LAUNCH_TEMPLATE)

    def program() -> Any:
        args = ImageFleetArgs(
            image_id=image,
            instance_type="t3.micro",
            subnet_ids=[network.subnet_id],
            min_size=2,
            max_size=4,
            desired_capacity=2,
            tags={"team": "web"},
            refresh=RefreshPreferences(min_healthy_percentage=50),
            rollout_timeout_s=600,
            rollout=rollout,
        )
        return ImageFleet("web", args).image_id

    moto_engine.up(program)

    # The one in-place change: the template's newest version becomes its default
    # (update_default_version), with no new version, so nothing rolls.
    assert sorted(moto_engine.steps) == [("create", "web-fleet"), ("update", "web-lt")]
    assert moto_engine.output("web-fleet", "fleet_id") == "project/stack/web"  # adopted
    assert moto_engine.groups()[group] == before
    versions = moto_engine.ec2.describe_launch_templates(LaunchTemplateIds=[template])
    assert versions["LaunchTemplates"][0]["LatestVersionNumber"] == 1
    assert versions["LaunchTemplates"][0]["DefaultVersionNumber"] == 1
