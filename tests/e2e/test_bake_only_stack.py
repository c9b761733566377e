"""The real Pulumi engine runs the bake-only stack: preview, up, refresh, destroy.

Each test starts from an empty moto server, a freshly seeded golden instance and a new
stack in a file backend of its own (tests/e2e/conftest.py). moto's state changes are
instant here; the interrupted-bake tests (test_interrupted_up.py) add latency.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from providers.aws import tags
from tests.conftest import FAKE_ENV, REGION, closed_endpoint
from tests.e2e.conftest import Aws
from tests.e2e.pulumi_cli import (
    BAKED_IMAGE_NAME,
    BAKED_IMAGE_TYPE,
    Stack,
    read_events,
    resource_events,
)

pytestmark = pytest.mark.e2e

CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _image_id_output(stack: Stack) -> str:
    return str(stack.outputs()["image_id"])


def _bake(stack: Stack, aws: Aws) -> str:
    """Set-up for the tests that start from a baked stack (``up`` is test 2's subject)."""
    stack.up("--skip-preview").check()
    return str(aws.assert_only_image_of_ours()["ImageId"])


def _rebake(stack: Stack, trigger: str, *args: str) -> None:
    stack.config_set("bakery:bake.triggers", [trigger])
    stack.up("--skip-preview", *args).check()


def test_preview_new_stack_lists_baked_image_create_and_touches_nothing(
    stack: Stack, aws: Aws
) -> None:
    result = stack.preview("--diff").check()

    assert re.search(rf"\+ {re.escape(BAKED_IMAGE_TYPE)}: \(create\)", result.stdout), result.stdout
    assert re.search(rf'instance_id\s*: "{aws.instance_id}"', result.stdout)
    # The pre-flight's line reaches the CLI: what the bake will do to the instance.
    assert f"will stop {aws.instance_id} (consistency: stop)" in result.output, result.output
    assert aws.instance_state() == "running"
    assert aws.instance_tags() == {"Name": "golden"}
    assert aws.images() == []
    assert aws.snapshots() == []
    assert stack.resources() == []


def test_preview_instance_store_golden_with_stop_fails_with_the_fix_and_touches_nothing(
    stack: Stack, aws: Aws
) -> None:
    """A pre-flight refusal reaches the real CLI as a failed preview."""
    hazard = aws.ec2.run_instances(
        ImageId="ami-0abcdef1234567890",
        MinCount=1,
        MaxCount=1,
        InstanceType="m5d.large",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
    )["Instances"][0]["InstanceId"]
    stack.config_set("bakery:bake.instance_id", hazard)

    result = stack.preview("--diff")

    assert result.returncode != 0, result.output
    assert "has 75 GB of instance-store volumes" in result.output, result.output
    assert "allow_instance_store_loss: true" in result.output
    assert (
        aws.ec2.describe_instances(InstanceIds=[hazard])["Reservations"][0]["Instances"][0][
            "State"
        ]["Name"]
        == "running"
    )
    assert aws.images() == [] and aws.snapshots() == []


def test_preview_unreachable_endpoint_fails_with_one_line_naming_it(stack: Stack, aws: Aws) -> None:
    """No AWS at preview: a failed preview naming endpoint and region, not a pass
    (python -m bench.preview_unreachable prints the time it takes)."""
    endpoint = closed_endpoint()
    stack.config_set("bakery:bake.endpoint_url", endpoint)

    result = stack.preview()

    assert result.returncode != 0, result.output
    assert f"cannot reach AWS at {endpoint} (region {REGION})" in result.output, result.output
    assert "skipped AWS checks" not in result.output


def test_up_bakes_image_and_exports_its_id(stack: Stack, aws: Aws) -> None:
    result = stack.up().check()

    image = aws.assert_only_image_of_ours()
    assert _image_id_output(stack) == image["ImageId"]
    [resource] = stack.resources()
    assert resource["id"] == image["ImageId"]
    assert resource["outputs"]["snapshot_ids"] == sorted(aws.image_snapshot_ids(image))
    assert f"baked {image['ImageId']}" in result.stdout


def test_second_preview_after_up_expects_no_changes(stack: Stack, aws: Aws) -> None:
    _bake(stack, aws)

    result = stack.preview("--expect-no-changes", "--diff").check()

    assert "unchanged" in result.stdout
    aws.assert_only_image_of_ours()


def test_trigger_change_replaces_new_image_first_then_retires_old(
    stack: Stack, aws: Aws, tmp_path: Path
) -> None:
    old_image = _bake(stack, aws)
    stack.config_set("bakery:bake.triggers", ["patch-2"])

    preview = stack.preview("--diff").check()

    assert re.search(rf"\+-{re.escape(BAKED_IMAGE_TYPE)}: \(replace\)", preview.stdout)
    assert re.search(r'~ triggers\s*: \[\n.*=> "patch-2"', preview.stdout), preview.stdout
    assert "re-bake of" in preview.output and "because triggers changed" in preview.output
    assert f"will stop {aws.instance_id} (consistency: stop)" in preview.output
    assert [i["ImageId"] for i in aws.images()] == [old_image]

    events = tmp_path / "events.jsonl"
    stack.up("--event-log", str(events)).check()

    ops = [
        (kind, op)
        for _, kind, op, urn in resource_events(read_events(events))
        if urn.endswith(f"{BAKED_IMAGE_TYPE}::{BAKED_IMAGE_NAME}")
    ]
    created = ops.index(("resOutputsEvent", "create-replacement"))
    retiring = ops.index(("resourcePreEvent", "delete-replaced"))
    assert created < retiring, ops
    old, new = aws.images()
    assert old["ImageId"] == old_image
    assert tags.RETIRED_AT in aws.image_tags(old)
    assert tags.RETIRED_AT not in aws.image_tags(new)
    assert _image_id_output(stack) == new["ImageId"]
    aws.assert_instance_running_and_free()


def test_refresh_after_out_of_band_deregister_notices_image_gone(stack: Stack, aws: Aws) -> None:
    image_id = _bake(stack, aws)
    aws.ec2.deregister_image(ImageId=image_id)

    result = stack.refresh().check()

    assert re.search(
        rf"- +{re.escape(BAKED_IMAGE_TYPE)} {BAKED_IMAGE_NAME} deleted", result.stdout
    ), result.stdout
    assert stack.resources() == []
    preview = stack.preview("--diff").check()
    assert re.search(rf"\+ {re.escape(BAKED_IMAGE_TYPE)}: \(create\)", preview.stdout)


def test_destroy_after_rebake_leaves_no_image_no_snapshot_and_instance_running(
    stack: Stack, aws: Aws
) -> None:
    _bake(stack, aws)
    _rebake(stack, "patch-2")
    assert len(aws.images()) == 2

    stack.destroy().check()

    assert aws.images() == []
    assert aws.snapshots() == []
    aws.assert_instance_running_and_free()
    assert stack.resources() == []


def test_state_holds_no_aws_credential_values(stack: Stack, aws: Aws) -> None:
    _bake(stack, aws)
    _rebake(stack, "patch-2")
    stack.refresh().check()

    state = stack.export(show_secrets=True)
    texts = [repr(state)]
    for resource in state["deployment"]["resources"]:
        for props in (resource.get("inputs", {}), resource.get("outputs", {})):
            pickled = props.get("__provider")
            if isinstance(pickled, str):
                texts.append(base64.b64decode(pickled).decode("latin-1"))
    backend = stack.ws.state
    texts += [p.read_bytes().decode("latin-1") for p in backend.rglob("*") if p.is_file()]

    assert any("__provider" in t for t in texts)
    for key in CREDENTIAL_KEYS:
        value = FAKE_ENV[key]
        assert os.environ[key] == value
        leaks = [t[max(0, t.find(value) - 80) : t.find(value) + 80] for t in texts if value in t]
        assert not leaks, f"{key} found in the state: {leaks}"
