"""Run Command steps (providers/aws/bake/commands.py) under moto + tests/moto_ext/ssm_commands."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws import tags
from providers.aws.bake import commands
from providers.aws.bake.commands import (
    agent_online,
    document_problem,
    patch_instance,
    run_command,
    wait_agent_online,
)
from providers.aws.errors import CommandFailedError, WaitTimeoutError
from providers.aws.rules.bake_steps import CommandSpec, PatchSpec
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.moto_ext import ssm_commands
from tests.recording import CallRecorder

BAKE = "bake-0001"
SHELL = CommandSpec(("echo hello",), "AWS-RunShellScript", 600.0)


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


@pytest.fixture
def instance(ec2: Any) -> str:
    """A running instance whose SSM Agent is registered and Online."""
    found = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    ssm_commands.register_agent(found["InstanceId"])
    return str(found["InstanceId"])


@pytest.fixture
def calls(ssm: Any, ec2: Any) -> CallRecorder:
    recorder = CallRecorder()
    recorder.attach(ssm)
    recorder.attach(ec2)
    return recorder


def _run(ssm: Any, ec2: Any, instance: str, pacing: Pacing, log: list[str], **kw: Any) -> Any:
    return run_command(
        ssm,
        ec2,
        instance,
        kw.pop("spec", SHELL),
        bake_id=kw.pop("bake_id", BAKE),
        step=kw.pop("step", "prepare"),
        pacing=pacing,
        log=log.append,
    )


def _tag(ec2: Any, instance: str, step: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return tags.to_dict(found.get("Tags")).get(tags.command_tag(step), "")


def test_run_command_success_returns_the_result_and_tags_the_command(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    ssm_commands.script(instance, "AWS-RunShellScript", stdout="hello\n")
    log: list[str] = []

    result = _run(ssm, ec2, instance, pacing, log)

    assert (result.status, result.exit_code, result.output_tail, result.adopted) == (
        "Success",
        0,
        "hello",
        False,
    )
    assert _tag(ec2, instance, "prepare") == f"{BAKE} {result.command_id}"
    (sent,) = calls.of("SendCommand")
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["Parameters"] == {"commands": ["echo hello"], "executionTimeout": ["600"]}
    assert 30 <= sent["TimeoutSeconds"] <= 2592000
    assert BAKE in sent["Comment"] and "prepare" in sent["Comment"]
    assert len(sent["Comment"]) <= 100
    # The tag is written right after SendCommand, before any wait.
    assert calls.ops().index("CreateTags") == calls.ops().index("SendCommand") + 1
    assert any("Success" in line for line in log)


def test_run_command_comment_stays_within_100_characters(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    _run(ssm, ec2, instance, pacing, [], bake_id="b" * 120)

    assert len(calls.of("SendCommand")[0]["Comment"]) == 100


def test_run_command_failure_raises_with_status_exit_code_and_output_tail(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing
) -> None:
    lines = "".join(f"line {n}\n" for n in range(1, 41))
    ssm_commands.script(
        instance, "AWS-RunShellScript", status="Failed", exit_code=2, stdout=lines, stderr="oops"
    )

    with pytest.raises(CommandFailedError) as caught:
        _run(ssm, ec2, instance, pacing, [])

    error = caught.value
    assert (error.step, error.status, error.exit_code) == ("prepare", "Failed", 2)
    assert error.output_tail.splitlines()[-1] == "oops"
    assert "line 40" in error.output_tail and "line 20\n" not in error.output_tail
    assert len(error.output_tail.splitlines()) == commands.TAIL_LINES
    message = str(error)
    assert "prepare" in message and "Failed" in message and "exit code 2" in message
    assert "oops" in message and error.command_id in message


def test_run_command_timed_out_raises_with_the_status_details(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing
) -> None:
    ssm_commands.script(
        instance,
        "AWS-RunShellScript",
        status="TimedOut",
        exit_code=-1,
        details="Delivery Timed Out",
    )

    with pytest.raises(CommandFailedError) as caught:
        _run(ssm, ec2, instance, pacing, [])

    assert (caught.value.status, caught.value.exit_code) == ("TimedOut", None)
    assert "Delivery Timed Out" in str(caught.value) and "no exit code" in str(caught.value)


def test_run_command_agent_out_of_touch_waits_for_it_and_sends_nothing(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing
) -> None:
    """A command to an agent out of touch would end Delivery Timed Out (the model's
    rule): the step waits for the agent instead and fails naming its ping status."""
    ssm_commands.register_agent(instance, ping="ConnectionLost")

    with pytest.raises(WaitTimeoutError) as caught:
        _run(ssm, ec2, instance, pacing, [])

    assert "did not become Online" in str(caught.value)
    assert "last state: ConnectionLost" in str(caught.value)
    assert ssm.list_commands()["Commands"] == []


def test_run_command_still_running_at_its_timeout_raises_wait_timeout(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, fake_clock: FakeClock
) -> None:
    ssm_commands.script(instance, "AWS-RunShellScript", in_progress_looks=10_000)
    spec = CommandSpec(("sleep 9999",), "AWS-RunShellScript", 60.0)

    with pytest.raises(WaitTimeoutError) as caught:
        _run(ssm, ec2, instance, pacing, [], spec=spec)

    assert caught.value.state == "InProgress"
    deadline = 60.0 + commands.DELIVERY_TIMEOUT_S + commands.COMMAND_MARGIN_S
    assert caught.value.elapsed_s == pytest.approx(deadline)
    assert "prepare command" in str(caught.value)


def test_run_command_second_run_of_the_same_bake_adopts_and_sends_nothing(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    first = _run(ssm, ec2, instance, pacing, [])
    log: list[str] = []

    second = _run(ssm, ec2, instance, pacing, log)

    assert len(calls.of("SendCommand")) == 1
    assert (second.command_id, second.adopted, second.status) == (first.command_id, True, "Success")
    assert any(f"adopting command {first.command_id} of this bake" in line for line in log)


def test_run_command_adopts_a_command_still_running_after_a_crash(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    ssm_commands.script(instance, "AWS-RunShellScript", pending_looks=3, in_progress_looks=3)
    command_id = ssm.send_command(
        InstanceIds=[instance], DocumentName="AWS-RunShellScript", Parameters={"commands": ["x"]}
    )["Command"]["CommandId"]
    ec2.create_tags(
        Resources=[instance],
        Tags=[{"Key": tags.command_tag("prepare"), "Value": f"{BAKE} {command_id}"}],
    )

    result = _run(ssm, ec2, instance, pacing, [])

    assert (result.command_id, result.adopted, result.status) == (command_id, True, "Success")
    assert len(calls.of("SendCommand")) == 1  # the crashed run's own


def test_run_command_of_another_bake_sends_its_own(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    first = _run(ssm, ec2, instance, pacing, [], bake_id="bake-old")

    second = _run(ssm, ec2, instance, pacing, [])

    assert len(calls.of("SendCommand")) == 2
    assert second.command_id != first.command_id and not second.adopted
    assert _tag(ec2, instance, "prepare") == f"{BAKE} {second.command_id}"


def test_run_command_of_this_bake_that_failed_is_sent_again(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    ssm_commands.script(instance, "AWS-RunShellScript", status="Failed", exit_code=1)
    with pytest.raises(CommandFailedError):
        _run(ssm, ec2, instance, pacing, [])
    ssm_commands.script(instance, "AWS-RunShellScript")  # the user fixed it
    log: list[str] = []

    result = _run(ssm, ec2, instance, pacing, log)

    assert (result.status, result.adopted) == ("Success", False)
    assert len(calls.of("SendCommand")) == 2
    assert any("ended Failed; sending it again" in line for line in log)


def test_run_command_agent_never_online_times_out_naming_the_agent(
    ssm: Any, ec2: Any, pacing: Pacing, calls: CallRecorder
) -> None:
    found = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]

    with pytest.raises(WaitTimeoutError) as caught:
        _run(ssm, ec2, found["InstanceId"], pacing, [])

    assert "SSM Agent" in str(caught.value) and "not registered" in str(caught.value)
    assert "AmazonSSMManagedInstanceCore" in str(caught.value)
    assert calls.of("SendCommand") == []


def test_agent_online_reports_registration_and_ping(ssm: Any, ec2: Any, instance: str) -> None:
    other = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]

    assert agent_online(ssm, instance) is True
    assert agent_online(ssm, other["InstanceId"]) is False
    ssm_commands.register_agent(other["InstanceId"], ping="ConnectionLost")
    assert agent_online(ssm, other["InstanceId"]) is False


def test_wait_agent_online_rides_out_a_few_offline_looks(
    ssm: Any, instance: str, pacing: Pacing, fake_clock: FakeClock
) -> None:
    ssm_commands._world.offline_looks[instance] = 3
    log: list[str] = []

    wait_agent_online(ssm, instance, pacing=pacing, timeout_s=600.0, log=log.append)

    assert len(fake_clock.sleeps) == 3
    assert any("ConnectionLost" in line for line in log)


def test_patch_instance_waits_for_the_agent_after_the_reboot(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    ssm_commands.script(instance, "AWS-RunPatchBaseline", reboot_looks=2)
    log: list[str] = []

    result = patch_instance(
        ssm, ec2, instance, PatchSpec(), bake_id=BAKE, pacing=pacing, log=log.append
    )

    assert result.status == "Success"
    assert calls.of("SendCommand")[0]["Parameters"] == {
        "Operation": ["Install"],
        "RebootOption": ["RebootIfNeeded"],
    }
    assert agent_online(ssm, instance)
    # After the command's end: two ConnectionLost looks, then Online, then the instance.
    after = calls.ops()[calls.ops().index("CreateTags") :]
    assert after.count("DescribeInstanceInformation") == 3 + 1  # + the check above
    assert after[-2] == "DescribeInstances"
    assert any("ConnectionLost" in line for line in log)
    assert _tag(ec2, instance, "patch") == f"{BAKE} {result.command_id}"


def test_patch_instance_scan_does_not_wait_for_a_reboot(
    ssm: Any, ec2: Any, instance: str, pacing: Pacing, calls: CallRecorder
) -> None:
    spec = PatchSpec(operation="scan")

    patch_instance(ssm, ec2, instance, spec, bake_id=BAKE, pacing=pacing, log=lambda _: None)

    after = calls.ops()[calls.ops().index("SendCommand") :]
    assert "DescribeInstanceInformation" not in after


def test_document_problem_none_for_aws_documents(ssm: Any) -> None:
    assert document_problem(ssm, "AWS-RunShellScript", "prepare.document") is None


def test_document_problem_missing_document_names_the_field_and_the_fix(ssm: Any) -> None:
    problem = document_problem(ssm, "Team-Harden", "prepare.document")

    assert problem is not None
    assert (problem.field, problem.found) == ("prepare.document", "Team-Harden")
    assert "create-document" in problem.fix


def test_document_problem_non_command_document_is_a_problem(ssm: Any) -> None:
    ssm.create_document(
        Name="Team-Automation",
        DocumentType="Automation",
        Content='{"schemaVersion": "0.3", "mainSteps": []}',
    )

    problem = document_problem(ssm, "Team-Automation", "restore.document")

    assert problem is not None and "Command document" in problem.fix
