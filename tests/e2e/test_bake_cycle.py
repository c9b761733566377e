"""The golden instance's whole cycle under the real Pulumi CLI: patch, prepare, restore, verify.

The moto server models what the cycle relies on (tests/moto_ext/server.py): Run Command
and patch states (ssm_commands.py, the golden instance a managed node through its
instance profile), status checks that take their time (instance_status.py) and AWS-like
latency scaled down, with the bake's waits at the same pace (``BAKERY_TIME_SCALE``).
Each test starts from an empty server and a golden instance with an instance profile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.waits import TIME_SCALE_ENV
from tests.conftest import REGION
from tests.e2e.conftest import Aws, stack_config
from tests.e2e.pulumi_cli import MotoServer, Stack, Workspace
from tests.moto_ext.golden import SSM_PROFILE, manage_with_ssm

pytestmark = pytest.mark.e2e

# AWS-like latency times this: a patch of 600 s runs 6 s, a boot's status checks 0.9 s.
LATENCY_SCALE = 0.01
PATCH = {"operation": "install", "reboot": "if_needed", "timeout_s": 3600}
PREPARE = {"commands": ["cloud-init clean --logs", "rm -f /root/.bash_history"]}
RESTORE = {"commands": ["systemctl start app"]}


class CycleAws(Aws):
    """The local AWS with a golden instance that Systems Manager manages."""

    def __init__(self, endpoint_url: str) -> None:
        super().__init__(endpoint_url)
        iam = make_client("iam", region=REGION, endpoint_url=endpoint_url)
        manage_with_ssm(self.ec2, iam, self.instance_id)
        self.ssm = make_client("ssm", region=REGION, endpoint_url=endpoint_url)
        self.subnet_id = str(self.ec2.describe_subnets()["Subnets"][0]["SubnetId"])

    def commands(self) -> list[tuple[str, str, list[str]]]:
        """(document, instance, commands or Operation) of every command sent, oldest first."""
        sent = sorted(self.ssm.list_commands()["Commands"], key=lambda c: c["RequestedDateTime"])
        return [
            (
                c["DocumentName"],
                c["InstanceIds"][0],
                list(c["Parameters"].get("commands") or c["Parameters"].get("Operation") or []),
            )
            for c in sent
        ]

    def run_patch_baseline(self, operation: str) -> None:
        """What the owner (or a maintenance window) does: AWS-RunPatchBaseline, to its end."""
        command_id = self.ssm.send_command(
            InstanceIds=[self.instance_id],
            DocumentName="AWS-RunPatchBaseline",
            Parameters={"Operation": [operation], "RebootOption": ["NoReboot"]},
        )["Command"]["CommandId"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status = self.ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=self.instance_id
                )["Status"]
            except self.ssm.exceptions.InvocationDoesNotExist:
                status = "Pending"
            if status not in ("Pending", "InProgress", "Delayed"):
                assert status == "Success", status
                return
            time.sleep(0.2)
        raise AssertionError(f"{operation} did not end in 60 s")

    def test_instances(self) -> list[dict[str, Any]]:
        """Instances launched to verify an image (tagged bakery:verify-of)."""
        found = self.ec2.describe_instances(
            Filters=[{"Name": "tag-key", "Values": [tags.VERIFY_OF]}]
        )["Reservations"]
        return [i for r in found for i in r["Instances"]]


@pytest.fixture(scope="module")
def cycle_moto() -> Iterator[MotoServer]:
    with MotoServer(latency_scale=LATENCY_SCALE) as server:
        yield server


@pytest.fixture
def cycle_aws(cycle_moto: MotoServer) -> CycleAws:
    cycle_moto.reset()
    return CycleAws(cycle_moto.url)


@pytest.fixture
def cycle_stack(tmp_path: Path, pulumi_bin: Path, cycle_aws: CycleAws) -> Iterator[Stack]:
    ws = Workspace(tmp_path, pulumi_bin, extra_env={TIME_SCALE_ENV: str(LATENCY_SCALE)})
    yield Stack(ws).init(stack_config(cycle_aws))
    ws.kill_leftovers()


def test_up_patches_prepares_bakes_restores_and_verifies_before_image_id_is_an_output(
    cycle_stack: Stack, cycle_aws: CycleAws
) -> None:
    aws = cycle_aws
    cycle_stack.config_set("bakery:bake.patch", PATCH)
    cycle_stack.config_set("bakery:bake.prepare", PREPARE)
    cycle_stack.config_set("bakery:bake.restore", RESTORE)
    verify = {
        "subnet_id": aws.subnet_id,
        "instance_profile": SSM_PROFILE,
        "command": {"commands": ["systemctl is-system-running"]},
        "timeout_s": 900,
    }
    cycle_stack.config_set("bakery:bake.verify", verify)

    preview = cycle_stack.preview("--diff").check()

    gi = aws.instance_id
    assert f"will patch {gi} (AWS-RunPatchBaseline Install, reboot if needed)" in preview.output
    assert "will run 2 prepare command(s) (AWS-RunShellScript)" in preview.output
    assert f"in {aws.subnet_id} and run its command" in preview.output, preview.output
    assert aws.commands() == [] and aws.images() == [] and aws.test_instances() == []

    up = cycle_stack.up("--skip-preview").check()

    image = aws.assert_only_image_of_ours()
    assert cycle_stack.outputs()["image_id"] == image["ImageId"]
    assert tags.VERIFIED in aws.image_tags(image), aws.image_tags(image)
    (tested,) = aws.test_instances()
    assert tested["State"]["Name"] == "terminated"
    assert tested["ImageId"] == image["ImageId"]
    # The order of the cycle, as Systems Manager saw it: patch, prepare and restore on the
    # golden instance, then the verify command on the test instance.
    assert aws.commands() == [
        ("AWS-RunPatchBaseline", gi, ["Install"]),
        ("AWS-RunShellScript", gi, PREPARE["commands"]),
        ("AWS-RunShellScript", gi, RESTORE["commands"]),
        ("AWS-RunShellScript", tested["InstanceId"], ["systemctl is-system-running"]),
    ]
    assert f"verify: {image['ImageId']} booted and passed" in up.output, up.output

    # A second `up` with nothing changed sends nothing and launches nothing.
    cycle_stack.up("--skip-preview").check()
    assert len(aws.commands()) == 4 and len(aws.test_instances()) == 1


def test_rebake_on_patch_state_preview_names_the_change_and_up_rebakes(
    cycle_stack: Stack, cycle_aws: CycleAws
) -> None:
    aws = cycle_aws
    aws.run_patch_baseline("Scan")  # the documented fix when an instance has no patch state
    cycle_stack.config_set("bakery:bake.rebake_on", ["patch_state"])
    cycle_stack.up("--skip-preview").check()
    first = aws.assert_only_image_of_ours()["ImageId"]

    unchanged = cycle_stack.preview("--diff").check()
    assert "patch state changed" not in unchanged.output, unchanged.output

    aws.run_patch_baseline("Install")  # patched outside Bakery (a maintenance window)
    changed = cycle_stack.preview("--diff").check()

    assert "patch state changed" in changed.output, changed.output
    assert "(Install, " in changed.output, changed.output
    assert [i["ImageId"] for i in aws.images()] == [first]

    cycle_stack.up("--skip-preview").check()
    second = str(cycle_stack.outputs()["image_id"])
    assert second != first
    assert second in [i["ImageId"] for i in aws.images()]
    aws.assert_instance_running_and_free()
