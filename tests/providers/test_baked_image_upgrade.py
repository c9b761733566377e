"""Upgrading Bakery must not re-bake: a stack written by the previous main diffs as no change.

``fixtures/old_main_state.json`` was captured by running the previous main's
provider (commit 1b9cb54: inputs with ``stop_instance``, ``bake_id`` and a generated
``name`` in plain keys; an image made by CreateSnapshots + RegisterImage) under moto:
its check inputs, create outputs and every request it sent that changed AWS. The test
replays those requests into a fresh moto (ids mapped), so AWS holds what the old code
made, then drives today's provider with the old state.

To regenerate: ``git worktree add /tmp/old 1b9cb54``, then from /tmp/old, under
``faithful_images.installed()`` and ``mock_aws()``, seed a golden instance and for
each case run ``BakedImageProvider().check({}, news)`` and ``create(inputs)`` with a
``tests.recording.CallRecorder`` on the provider's client; write news, inputs, outs,
id and the non-Describe calls as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.rules.bake_plan import BAKE_ID, IMAGE_NAME
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION
from tests.moto_ext.golden import seed_golden_instance
from tests.recording import CallRecorder

FIXTURE = Path(__file__).parent / "fixtures" / "old_main_state.json"


def _replay(ec2: Any, recorded: dict[str, Any], old_instance: str, instance_id: str) -> str:
    """Send the old code's image-making requests again; return the old->new id text map."""
    text = json.dumps(recorded).replace(old_instance, instance_id)
    case = json.loads(text)
    devices = {
        m["Ebs"]["VolumeId"]: m["DeviceName"]
        for m in ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][
            0
        ]["BlockDeviceMappings"]
    }
    by_device: dict[str, str] = {}
    renames: dict[str, str] = {}
    for request in case["sent"]:
        op, params = request["op"], request["params"]
        if op == "CreateSnapshots":
            for snap in ec2.create_snapshots(**params)["Snapshots"]:
                by_device[devices[snap["VolumeId"]]] = snap["SnapshotId"]
        elif op == "RegisterImage":
            for mapping in params["BlockDeviceMappings"]:
                new = by_device[mapping["DeviceName"]]
                renames[mapping["Ebs"]["SnapshotId"]] = new
                mapping["Ebs"]["SnapshotId"] = new
            renames[case["id"]] = ec2.register_image(**params)["ImageId"]
        elif op == "CreateTags" and params["Resources"][0].startswith("ami-"):
            params["Resources"] = [renames.get(r, r) for r in params["Resources"]]
            ec2.create_tags(**params)
    for old, new in renames.items():
        text = text.replace(old, new)
    return text


@pytest.fixture
def old_state(ec2: Any) -> dict[str, Any]:
    captured = json.loads(FIXTURE.read_text())
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    states = {}
    for label in ("generated_name", "user_named"):
        text = _replay(ec2, captured[label], captured["instance_id"], instance_id)
        states[label] = json.loads(text)
    return states


@pytest.mark.parametrize("label", ["generated_name", "user_named"])
def test_upgrade_state_from_previous_main_diffs_as_no_change(
    ec2: Any, old_state: dict[str, Any], label: str
) -> None:
    case = old_state[label]
    provider = BakedImageProvider()
    calls = CallRecorder().attach(ec2)

    for news in (case["news"], _as_today(case["news"])):
        result = provider.check(case["inputs"], news)

        assert result.failures == []
        assert result.inputs[BAKE_ID] == case["inputs"]["bake_id"]
        assert result.inputs[IMAGE_NAME] == case["inputs"]["name"]
        diff = provider.diff(case["id"], case["outs"], result.inputs)
        assert diff.changes is False and list(diff.replaces) == []
    assert calls.ops() == []  # no re-bake, so not even a read


def _as_today(news: dict[str, Any]) -> dict[str, Any]:
    """The same stack as today's program sends it: consistency instead of stop_instance."""
    today = {k: v for k, v in news.items() if k != "stop_instance"}
    today["consistency"] = "live" if news.get("stop_instance") is False else "stop"
    return today


def test_upgrade_destroy_of_registered_image_removes_it_and_its_snapshots(
    ec2: Any, old_state: dict[str, Any]
) -> None:
    for case in old_state.values():
        image_id = case["id"]
        assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "available"
        image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
        assert tags.to_dict(image["Tags"])[tags.BAKE_ID] == case["inputs"]["bake_id"]

        BakedImageProvider().delete(image_id, case["outs"])

        assert ec2.describe_images(ImageIds=[image_id])["Images"] == []
        left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
        assert not left & set(case["outs"]["snapshot_ids"])
