"""The SSM extension behaves as the AWS pages its docstring cites."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws.clients import make_client
from tests.conftest import REGION
from tests.moto_ext import ssm_commands
from tests.moto_ext.golden import manage_with_ssm


def _instance(ec2: Any) -> str:
    return str(
        ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0][
            "InstanceId"
        ]
    )


def _ping(ssm: Any, instance_id: str) -> list[str]:
    found = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )["InstanceInformationList"]
    return [i["PingStatus"] for i in found]


def _looks(ssm: Any, command_id: str, instance_id: str, count: int) -> list[str]:
    seen = []
    for _ in range(count):
        try:
            seen.append(
                ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)["Status"]
            )
        except ClientError as exc:
            seen.append(exc.response["Error"]["Code"])
    return seen


def _send(ssm: Any, instance_id: str, document: str = "AWS-RunShellScript", **params: Any) -> str:
    parameters = params or {"commands": ["true"]}
    return str(
        ssm.send_command(InstanceIds=[instance_id], DocumentName=document, Parameters=parameters)[
            "Command"
        ]["CommandId"]
    )


def test_ssm_commands_unregistered_instance_is_not_listed_and_refuses_commands(
    ec2: Any, ssm: Any
) -> None:
    instance = _instance(ec2)

    assert _ping(ssm, instance) == []
    with pytest.raises(ClientError, match="InvalidInstanceId"):
        _send(ssm, instance)


def test_ssm_commands_registered_agent_is_online_until_the_instance_stops(
    ec2: Any, ssm: Any
) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)

    assert _ping(ssm, instance) == ["Online"]
    ec2.stop_instances(InstanceIds=[instance])
    assert _ping(ssm, instance) == []


def test_ssm_commands_invocation_goes_pending_in_progress_success(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)

    command = _send(ssm, instance)

    assert _looks(ssm, command, instance, 4) == [
        "InvocationDoesNotExist",
        "Pending",
        "InProgress",
        "Success",
    ]


def test_ssm_commands_scripted_failure_reports_exit_code_and_output(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)
    ssm_commands.script(
        instance, "AWS-RunShellScript", status="Failed", exit_code=3, stdout="boom\n", stderr="e"
    )

    command = _send(ssm, instance)
    _looks(ssm, command, instance, 3)
    last = ssm.get_command_invocation(CommandId=command, InstanceId=instance)

    assert (last["Status"], last["ResponseCode"]) == ("Failed", 3)
    assert (last["StandardOutputContent"], last["StandardErrorContent"]) == ("boom\n", "e")


def test_ssm_commands_timed_out_reports_its_details(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)
    ssm_commands.script(instance, "AWS-RunShellScript", status="TimedOut", exit_code=-1)

    command = _send(ssm, instance)
    _looks(ssm, command, instance, 3)
    last = ssm.get_command_invocation(CommandId=command, InstanceId=instance)

    assert (last["Status"], last["StatusDetails"]) == ("TimedOut", "Execution Timed Out")


def test_ssm_commands_reboot_takes_the_agent_offline_for_some_looks(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)
    ssm_commands.script(instance, "AWS-RunPatchBaseline", reboot_looks=2)

    command = _send(ssm, instance, "AWS-RunPatchBaseline", Operation=["Install"])
    assert _ping(ssm, instance) == ["Online"]  # not yet: the command is still running
    _looks(ssm, command, instance, 4)

    assert [_ping(ssm, instance) for _ in range(3)] == [
        ["ConnectionLost"],
        ["ConnectionLost"],
        ["Online"],
    ]


def test_ssm_commands_install_raises_installed_count_and_records_the_operation(
    ec2: Any, ssm: Any
) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)
    ssm_commands.set_patch_state(instance, InstalledCount=12, MissingCount=7, Operation="Scan")

    command = _send(ssm, instance, "AWS-RunPatchBaseline", Operation=["Install"])
    _looks(ssm, command, instance, 4)
    (state,) = ssm.describe_instance_patch_states(InstanceIds=[instance])["InstancePatchStates"]

    assert (state["InstalledCount"], state["MissingCount"], state["Operation"]) == (
        19,
        0,
        "Install",
    )


def test_ssm_commands_no_patch_state_until_set_or_patched(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)

    assert ssm.describe_instance_patch_states(InstanceIds=[instance])["InstancePatchStates"] == []


def test_ssm_commands_aws_documents_exist_and_unknown_ones_do_not(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance)

    document = ssm.describe_document(Name="AWS-RunPatchBaseline")["Document"]
    assert (document["DocumentType"], document["Status"]) == ("Command", "Active")
    with pytest.raises(ClientError, match="InvalidDocument"):
        ssm.describe_document(Name="Team-Missing")
    with pytest.raises(ClientError, match="InvalidDocument"):
        _send(ssm, instance, "Team-Missing")


def test_ssm_commands_auto_register_lists_instances_with_an_instance_profile_only(
    ec2: Any, ssm: Any
) -> None:
    with_profile, without = _instance(ec2), _instance(ec2)
    manage_with_ssm(ec2, make_client("iam", region=REGION), with_profile)
    ssm_commands.auto_register()

    assert _ping(ssm, with_profile) == ["Online"]
    assert _send(ssm, with_profile)
    assert _ping(ssm, without) == []
    with pytest.raises(ClientError, match="InvalidInstanceId"):
        _send(ssm, without)
    ec2.stop_instances(InstanceIds=[with_profile])
    assert _ping(ssm, with_profile) == []


def test_ssm_commands_send_to_instance_ids_runs_on_those_only(ec2: Any, ssm: Any) -> None:
    one, other = _instance(ec2), _instance(ec2)
    ssm_commands.register_agent(one)
    ssm_commands.register_agent(other)

    command_id = _send(ssm, one)

    (listed,) = ssm.list_commands(CommandId=command_id)["Commands"]
    assert listed["InstanceIds"] == [one] and listed["TargetCount"] == 1
    with pytest.raises(ClientError, match="InvocationDoesNotExist"):
        ssm.get_command_invocation(CommandId=command_id, InstanceId=other)


def test_ssm_commands_agent_out_of_touch_ends_delivery_timed_out(ec2: Any, ssm: Any) -> None:
    instance = _instance(ec2)
    ssm_commands.register_agent(instance, ping="ConnectionLost")
    ssm_commands.script(instance, "AWS-RunShellScript", status="Success")

    command_id = _send(ssm, instance)

    assert _looks(ssm, command_id, instance, 4) == [
        "InvocationDoesNotExist",
        "Pending",
        "Pending",
        "TimedOut",
    ]
    invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
    assert invocation["StatusDetails"] == "Delivery Timed Out"
    assert invocation["ResponseCode"] == -1
