"""Upgrading Bakery must not re-bake: a stack written by an earlier main diffs as no change.

Two earlier mains' states are fixtures, each captured by running that main's own
provider under moto (``git worktree add /tmp/old <commit>``, then from /tmp/old,
under ``faithful_images.installed()`` and ``mock_aws()``, seed a golden instance and
for each case run ``BakedImageProvider().check({}, news)`` and ``create(inputs)``
with a ``tests.recording.CallRecorder`` on the provider's client):

- ``fixtures/old_main_state.json``, commit 1b9cb54: inputs with ``stop_instance``,
  ``bake_id`` and a generated ``name`` in plain keys; an image made by
  CreateSnapshots + RegisterImage. Records news, inputs, outs, id and the
  non-Describe calls.
- ``fixtures/main_87f131f_state.json``, commit 87f131f (captured by
  ``fixtures/capture_main_state.py.txt``): the CreateImage bake, keys
  ``__bake_id``/``__name``, the lifecycle inputs at their defaults. The news are what
  that main's ``BakedImage`` registered under Pulumi mocks (every prop the engine
  sends, with the pickled ``__provider``); the inputs and outs carry ``__provider``
  as the dynamic-provider host adds it. Records news, inputs, outs, id, ``read``'s
  id and outs, the image as DescribeImages showed it and the calls that changed AWS
  (not Describe/Get/List). Three cases: a generated name (consistency ``stop``), a
  user name (``live``) and a ``reboot`` bake with a description.
- ``fixtures/main_7106df8_state.json``, commit 7106df8 (the main this session started
  from; captured by ``fixtures/capture_main_7106df8.py.txt``): the same three cases
  and a fourth with the golden instance's cycle (prepare and restore commands, a verify
  with its test instance) under the ssm_commands, instance_status and image_launch
  models. Its Run Command and test-instance requests are not replayed: they leave
  nothing the provider reads again but the tags, which are.

The test replays the recorded requests into a fresh moto (ids mapped), so AWS holds
what the old code made, then drives today's provider with the old state.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import dill
import pytest
from botocore import xform_name

from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.rules.bake_plan import BAKE_ID, IMAGE_NAME
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION
from tests.moto_ext.golden import seed_golden_instance
from tests.recording import CallRecorder

FIXTURES = Path(__file__).parent / "fixtures"
MAIN_1B9CB54 = "old_main_state.json"
MAIN_87F131F = "main_87f131f_state.json"
MAIN_7106DF8 = "main_7106df8_state.json"
CASES = [
    (MAIN_1B9CB54, "generated_name"),
    (MAIN_1B9CB54, "user_named"),
    (MAIN_87F131F, "generated_name"),
    (MAIN_87F131F, "user_named"),
    (MAIN_87F131F, "rebooted"),
    (MAIN_7106DF8, "generated_name"),
    (MAIN_7106DF8, "user_named"),
    (MAIN_7106DF8, "rebooted"),
    (MAIN_7106DF8, "cycle"),
]
# The labels of the mains whose pickled provider and refresh are checked too.
PICKLED = [
    (fixture, label)
    for fixture in (MAIN_87F131F, MAIN_7106DF8)
    for label in ("generated_name", "user_named", "rebooted")
] + [(MAIN_7106DF8, "cycle")]
# Requests that leave the instance where it was (restore_state): not replayed.
# Nor the cycle's commands and its test instance (launched and terminated in the bake).
_NOT_REPLAYED = {
    "StopInstances",
    "StartInstances",
    "RebootInstances",
    "SendCommand",
    "RunInstances",
    "TerminateInstances",
}


def _devices(ec2: Any, instance_id: str) -> dict[str, str]:
    """Volume id -> device name of the instance's EBS volumes."""
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {m["Ebs"]["VolumeId"]: m["DeviceName"] for m in instance["BlockDeviceMappings"]}


def _snapshots_by_device(image: dict[str, Any]) -> dict[str, str]:
    return {
        m["DeviceName"]: m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"] if "Ebs" in m
    }


def _replay(ec2: Any, recorded: dict[str, Any], old_instance: str, instance_id: str) -> str:
    """Send the old code's image-making requests again; return the case, old ids mapped."""
    text = json.dumps(recorded).replace(old_instance, instance_id)
    case = json.loads(text)
    devices = _devices(ec2, instance_id)
    by_device: dict[str, str] = {}
    renames: dict[str, str] = {}
    test_instances = {
        i
        for r in case["sent"]
        if r["op"] == "TerminateInstances"
        for i in r["params"]["InstanceIds"]
    }
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
        elif op == "CreateImage":
            new_id = ec2.create_image(**params)["ImageId"]
            new_image = ec2.describe_images(ImageIds=[new_id])["Images"][0]
            olds, news = _snapshots_by_device(case["image"]), _snapshots_by_device(new_image)
            renames.update({olds[device]: news[device] for device in olds})
            renames[case["id"]] = new_id
        elif op not in _NOT_REPLAYED:
            if "Resources" in params:
                params["Resources"] = [renames.get(r, r) for r in params["Resources"]]
                if not params["Resources"] or any(r in test_instances for r in params["Resources"]):
                    continue  # the test instance's tags: it was terminated in the bake
            getattr(ec2, xform_name(op))(**params)
    for old, new in renames.items():
        text = text.replace(old, new)
    return text


def _old_state(ec2: Any, fixture: str, label: str) -> dict[str, Any]:
    """One case of a fixture, its image and snapshots made again in moto (ids mapped)."""
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    captured = json.loads((FIXTURES / fixture).read_text())
    text = _replay(ec2, captured[label], captured["instance_id"], instance_id)
    if "subnet_id" in captured:  # the verify's subnet: moto's default subnets get new ids
        text = text.replace(captured["subnet_id"], ec2.describe_subnets()["Subnets"][0]["SubnetId"])
    return dict(json.loads(text))


def _bake_id(inputs: dict[str, Any]) -> str:
    return str(inputs.get(BAKE_ID) or inputs["bake_id"])


def _image_name(inputs: dict[str, Any]) -> str:
    return str(inputs.get(IMAGE_NAME) or inputs["name"])


@pytest.mark.parametrize(("fixture", "label"), CASES)
def test_upgrade_state_from_earlier_main_diffs_as_no_change(
    ec2: Any, fixture: str, label: str
) -> None:
    case = _old_state(ec2, fixture, label)
    provider = BakedImageProvider()
    calls = CallRecorder().attach(ec2)

    for news in (case["news"], _as_today(case["news"])):
        result = provider.check(case["inputs"], news)

        assert result.failures == []
        assert result.inputs[BAKE_ID] == _bake_id(case["inputs"])
        assert result.inputs[IMAGE_NAME] == _image_name(case["inputs"])
        diff = provider.diff(case["id"], case["outs"], result.inputs)
        assert diff.changes is False and list(diff.replaces) == []
    assert calls.ops() == []  # no re-bake, so not even a read


def _ids_sorted(outs: dict[str, Any]) -> dict[str, Any]:
    """Outputs with snapshot ids in one order: the replay mapped them to new random ids,
    and outputs list them sorted (against AWS, the same ids keep the same order)."""
    return {**outs, "snapshot_ids": sorted(outs["snapshot_ids"])}


def _as_today(news: dict[str, Any]) -> dict[str, Any]:
    """The same stack as today's program sends it: consistency instead of stop_instance."""
    if "stop_instance" not in news:
        return dict(news)
    today = {k: v for k, v in news.items() if k != "stop_instance"}
    today["consistency"] = "live" if news.get("stop_instance") is False else "stop"
    return today


@pytest.mark.parametrize(("fixture", "label"), PICKLED)
def test_upgrade_state_from_earlier_main_names_todays_provider(
    ec2: Any, fixture: str, label: str
) -> None:
    case = _old_state(ec2, fixture, label)
    for props in (case["news"], case["inputs"], case["outs"]):
        provider = dill.loads(base64.b64decode(props["__provider"]))

        assert type(provider) is BakedImageProvider


@pytest.mark.parametrize(("fixture", "label"), PICKLED)
def test_upgrade_refresh_of_earlier_main_state_reads_the_same_outputs(
    ec2: Any, fixture: str, label: str
) -> None:
    case = _old_state(ec2, fixture, label)

    read = BakedImageProvider().read(case["id"], case["outs"])

    assert read.id == case["read_id"] == case["id"]
    assert _ids_sorted(read.outs) == _ids_sorted(case["read_outs"])
    result = BakedImageProvider().check(case["inputs"], case["news"])
    diff = BakedImageProvider().diff(read.id, read.outs, result.inputs)
    assert diff.changes is False and list(diff.replaces) == []


@pytest.mark.parametrize("label", ["generated_name", "user_named"])
def test_upgrade_refresh_of_main_1b9cb54_state_keeps_its_image(ec2: Any, label: str) -> None:
    case = _old_state(ec2, MAIN_1B9CB54, label)

    read = BakedImageProvider().read(case["id"], case["outs"])

    assert read.id == case["id"]
    assert read.outs["image_id"] == case["outs"]["image_id"]
    assert sorted(read.outs["snapshot_ids"]) == sorted(case["outs"]["snapshot_ids"])
    assert read.outs[BAKE_ID] == case["inputs"]["bake_id"]
    assert read.outs["tags"] == case["outs"]["tags"]


@pytest.mark.parametrize(("fixture", "label"), CASES)
def test_upgrade_destroy_of_earlier_mains_image_removes_it_and_its_snapshots(
    ec2: Any, fixture: str, label: str
) -> None:
    case = _old_state(ec2, fixture, label)
    image_id = case["id"]
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["State"] == "available"
    assert tags.to_dict(image["Tags"])[tags.BAKE_ID] == _bake_id(case["inputs"])

    BakedImageProvider().delete(image_id, case["outs"])

    assert ec2.describe_images(ImageIds=[image_id])["Images"] == []
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert not left & set(case["outs"]["snapshot_ids"])
