"""The whole cycle in one bake: patch, prepare, image, restart, restore, test boot.

moto plus the SSM model (tests/moto_ext/ssm_commands.py: commands take looks to end,
outcomes scripted per instance and document) and the launch models (instance_status,
image_launch: status checks take looks, an image can be scripted not to boot).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.bake import steps, verify
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.bake.cycle import Cycle
from providers.aws.clients import make_client
from providers.aws.errors import CommandFailedError, VerifyFailedError
from providers.aws.rules.bake_steps import CommandSpec, PatchSpec, VerifySpec
from providers.aws.waits import Pacing
from tests.conftest import REGION
from tests.moto_ext import image_launch, instance_status, ssm_commands
from tests.moto_ext.golden import seed_golden_instance

LINEAGE = "bakery/test/golden"
PREPARE = CommandSpec(("cloud-init clean --logs", "rm -f /etc/machine-id"))
RESTORE = CommandSpec(("systemd-machine-id-setup",))


class Killed(BaseException):
    """The provider host dies here: nothing after it runs (no cleanup path either)."""


@pytest.fixture
def golden(ec2: Any) -> Iterator[str]:
    """The golden instance (its agent online, 12 patches installed, 7 missing); launches
    after it as EC2 does them (the seed's base image is not in moto)."""
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    ssm_commands.register_agent(instance_id)
    ssm_commands.set_patch_state(instance_id, InstalledCount=12, MissingCount=7)
    with instance_status.installed(), image_launch.installed():
        yield instance_id


@pytest.fixture
def subnet(ec2: Any, golden: str) -> str:
    found = ec2.describe_instances(InstanceIds=[golden])["Reservations"][0]["Instances"][0]
    return str(found["SubnetId"])


class Calls:
    """Every ec2 and ssm operation sent, in order, with the document of SendCommand."""

    def __init__(self, *clients: Any) -> None:
        self.seen: list[str] = []
        for client in clients:
            service = client.meta.service_model.service_name
            client.meta.events.register(f"before-parameter-build.{service}.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name == "SendCommand":
            commands = params.get("Parameters", {}).get("commands") or [params["DocumentName"]]
            name = f"SendCommand:{commands[0]}"
        self.seen.append(name)

    def index(self, name: str) -> int:
        return self.seen.index(name)

    def count(self, name: str) -> int:
        return self.seen.count(name)


def _bake(ec2: Any, ssm: Any, instance_id: str, pacing: Pacing, **steps_: Any) -> Any:
    req = BakeRequest(instance_id, "golden-1", "bake-1", LINEAGE, **steps_)
    return bake_image(ec2, req, pacing=pacing, ssm=ssm)


def _state(ec2: Any, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return str(found["State"]["Name"])


def _our_images(ec2: Any) -> list[dict[str, Any]]:
    return list(ec2.describe_images(Owners=["self"])["Images"])


def _live_test_instances(ec2: Any) -> list[str]:
    found = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": [tags.VERIFY_OF]}])
    return [
        i["InstanceId"]
        for r in found["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("shutting-down", "terminated")
    ]


def test_bake_patch_runs_the_patch_baseline_before_the_stop(
    ec2: Any, ssm: Any, golden: str, pacing: Pacing
) -> None:
    calls = Calls(ec2, ssm)

    _bake(ec2, ssm, golden, pacing, patch=PatchSpec())

    assert calls.index("SendCommand:AWS-RunPatchBaseline") < calls.index("StopInstances")
    assert calls.index("SendCommand:AWS-RunPatchBaseline") < calls.index("CreateImage")
    assert (
        ssm.describe_instance_patch_states(InstanceIds=[golden])["InstancePatchStates"][0][
            "InstalledCount"
        ]
        == 19
    )
    assert _state(ec2, golden) == "running"


def test_bake_failed_patch_fails_with_status_and_output_tail_nothing_stopped_no_image(
    ec2: Any, ssm: Any, golden: str, pacing: Pacing
) -> None:
    ssm_commands.script(
        golden, "AWS-RunPatchBaseline", status="Failed", exit_code=1, stdout="yum: repo down"
    )
    calls = Calls(ec2, ssm)

    with pytest.raises(CommandFailedError) as failed:
        _bake(ec2, ssm, golden, pacing, patch=PatchSpec())

    assert failed.value.status == "Failed" and failed.value.step == "patch"
    assert "exit code 1" in str(failed.value) and "yum: repo down" in str(failed.value)
    assert "StopInstances" not in calls.seen and "CreateImage" not in calls.seen
    assert _our_images(ec2) == [] and _state(ec2, golden) == "running"


@pytest.mark.parametrize("consistency", ["stop", "reboot", "live"])
def test_bake_prepare_runs_before_the_image_and_restore_after_the_restart(
    ec2: Any, ssm: Any, golden: str, pacing: Pacing, consistency: str
) -> None:
    calls = Calls(ec2, ssm)

    _bake(ec2, ssm, golden, pacing, consistency=consistency, prepare=PREPARE, restore=RESTORE)

    prepare, restore = (
        calls.index(f"SendCommand:{PREPARE.commands[0]}"),
        calls.index(f"SendCommand:{RESTORE.commands[0]}"),
    )
    assert prepare < calls.index("CreateImage") < restore
    if consistency == "stop":
        assert prepare < calls.index("StopInstances")
        assert calls.index("StartInstances") < restore
        # The commands may have changed the instance: its state is read after them.
        assert "DescribeInstances" in calls.seen[prepare : calls.index("StopInstances")]
    assert _state(ec2, golden) == "running"


def test_bake_failing_prepare_still_restores_and_leaves_the_instance_running(
    ec2: Any, ssm: Any, golden: str, pacing: Pacing
) -> None:
    ssm_commands.script(golden, "AWS-RunShellScript", status="Failed", exit_code=2)
    calls = Calls(ec2, ssm)

    with pytest.raises(CommandFailedError) as failed:
        _bake(ec2, ssm, golden, pacing, prepare=PREPARE, restore=RESTORE)

    assert failed.value.step == "prepare"
    assert calls.count(f"SendCommand:{RESTORE.commands[0]}") == 1
    assert "CreateImage" not in calls.seen and "StopInstances" not in calls.seen
    assert _state(ec2, golden) == "running" and _our_images(ec2) == []
    instance_tags = tags.to_dict(
        ec2.describe_instances(InstanceIds=[golden])["Reservations"][0]["Instances"][0]["Tags"]
    )
    assert tags.STOPPED_BY not in instance_tags  # released
    assert tags.command_tag("prepare") not in instance_tags  # a re-run prepares again


def test_bake_killed_between_prepare_and_image_sends_no_second_prepare(
    ec2: Any, ssm: Any, golden: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(**_: Any) -> None:
        raise Killed

    ec2.meta.events.register("before-call.ec2.CreateImage", die)
    with monkeypatch.context() as dead:  # a killed process runs no cleanup
        dead.setattr(steps.BakeRun, "put_back", lambda self, wanted=None: None)
        dead.setattr(Cycle, "restore_after_failure", lambda self: None)
        with pytest.raises(Killed):
            _bake(ec2, ssm, golden, pacing, prepare=PREPARE, restore=RESTORE)
    ec2.meta.events.unregister("before-call.ec2.CreateImage", die)
    calls = Calls(ec2, ssm)

    info = _bake(ec2, ssm, golden, pacing, prepare=PREPARE, restore=RESTORE)

    assert calls.count(f"SendCommand:{PREPARE.commands[0]}") == 0  # adopted
    assert calls.count(f"SendCommand:{RESTORE.commands[0]}") == 1
    assert info.image_id and _state(ec2, golden) == "running"


def test_bake_verify_passing_tags_the_image_verified_and_leaves_no_test_instance(
    ec2: Any, ssm: Any, golden: str, subnet: str, pacing: Pacing
) -> None:
    info = _bake(ec2, ssm, golden, pacing, verify=VerifySpec(subnet_id=subnet))

    image_tags = tags.to_dict(ec2.describe_images(ImageIds=[info.image_id])["Images"][0]["Tags"])
    assert tags.VERIFIED in image_tags and tags.VERIFY_FAILED not in image_tags
    assert _live_test_instances(ec2) == []


def test_bake_verify_impaired_image_fails_tagged_verify_failed_test_instance_terminated(
    ec2: Any, ssm: Any, golden: str, subnet: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def impair_new_images(http_response: Any, **_: Any) -> None:
        for image in _our_images(make_client("ec2", region=REGION)):
            instance_status.impair_image(image["ImageId"], "instance")

    ec2.meta.events.register("after-call.ec2.CreateImage", impair_new_images)

    with pytest.raises(VerifyFailedError) as failed:
        _bake(ec2, ssm, golden, pacing, verify=VerifySpec(subnet_id=subnet))

    (image,) = _our_images(ec2)
    assert failed.value.image_id == image["ImageId"]
    assert "instance status check impaired" in str(failed.value)
    assert tags.VERIFY_FAILED in tags.to_dict(image["Tags"])
    assert _live_test_instances(ec2) == []
    assert _state(ec2, golden) == "running"


def test_bake_verify_command_failing_fails_the_bake_naming_its_exit_code(
    ec2: Any, ssm: Any, golden: str, subnet: str, pacing: Pacing
) -> None:
    def register_test_instances(parsed: Any, **_: Any) -> None:
        for instance in parsed.get("Instances", []):
            ssm_commands.register_agent(instance["InstanceId"])
            ssm_commands.script(
                instance["InstanceId"],
                "AWS-RunShellScript",
                status="Failed",
                exit_code=3,
                stdout="nginx: failed",
            )

    ec2.meta.events.register("after-call.ec2.RunInstances", register_test_instances)
    spec = VerifySpec(subnet_id=subnet, command=CommandSpec(("systemctl is-active nginx",)))

    with pytest.raises(VerifyFailedError) as failed:
        _bake(ec2, ssm, golden, pacing, verify=spec)

    assert "exit code 3" in str(failed.value) and "nginx: failed" in str(failed.value)
    assert _live_test_instances(ec2) == []


def test_bake_killed_during_verify_leaves_nothing_after_the_next_up(
    ec2: Any, ssm: Any, golden: str, subnet: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(**_: Any) -> None:
        raise Killed

    ec2.meta.events.register("before-call.ec2.DescribeInstanceStatus", die)
    with monkeypatch.context() as dead:  # killed: the finally's terminate never runs
        dead.setattr(verify, "_terminate", lambda *a, **k: None)
        with pytest.raises(Killed):
            _bake(ec2, ssm, golden, pacing, verify=VerifySpec(subnet_id=subnet))
    ec2.meta.events.unregister("before-call.ec2.DescribeInstanceStatus", die)
    assert len(_live_test_instances(ec2)) == 1  # what the killed run left

    info = _bake(ec2, ssm, golden, pacing, verify=VerifySpec(subnet_id=subnet))

    assert _live_test_instances(ec2) == []
    assert [i["ImageId"] for i in _our_images(ec2)] == [info.image_id]
