"""verify_image and friends under moto, with status checks and launches as EC2 does them.

tests/moto_ext/instance_status.py makes status checks start ``initializing`` and lets a
test script an image whose instances come up ``impaired``; image_launch.py makes
RunInstances honour ClientToken and refuse an image that is not available.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.bake import verify
from providers.aws.bake.cycle_preflight import verify_problems
from providers.aws.bake.verify import (
    MAX_TOKEN,
    VerifyResult,
    client_token,
    launch_request,
    mark_verified,
    terminate_test_instances,
    verify_image,
)
from providers.aws.errors import VerifyFailedError
from providers.aws.rules.bake_steps import VerifySpec
from providers.aws.waits import Pacing
from tests.conftest import FakeClock, plain_image
from tests.moto_ext import image_launch, instance_status
from tests.providers.aws.conftest import sent

BAKE = "bake-0123456789abcdef"


@pytest.fixture
def launches(aws: None) -> Iterator[None]:
    with instance_status.installed(), image_launch.installed():
        yield


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


@pytest.fixture
def net(ec2: Any, launches: None) -> dict[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="verify", Description="t", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet, "group": group}


@pytest.fixture
def image(ec2: Any, launches: None) -> str:
    return plain_image(ec2)


def _spec(net: dict[str, str], **kwargs: Any) -> VerifySpec:
    kwargs.setdefault("security_group_ids", (net["group"],))
    return VerifySpec(subnet_id=net["subnet"], **kwargs)


def _verify(ec2: Any, image: str, spec: VerifySpec, pacing: Pacing, **kwargs: Any) -> VerifyResult:
    lines: list[str] = kwargs.pop("lines", [])
    return verify_image(
        ec2,
        image,
        spec,
        bake_id=kwargs.pop("bake_id", BAKE),
        default_instance_type="t3.micro",
        pacing=pacing,
        log=lines.append,
        **kwargs,
    )


def _test_instances(ec2: Any) -> list[dict[str, Any]]:
    found = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": [tags.VERIFY_OF]}])
    return [i for r in found["Reservations"] for i in r["Instances"]]


def _state(ec2: Any, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(found[0]["Instances"][0]["State"]["Name"])


def _image_tags(ec2: Any, image: str) -> dict[str, str]:
    return tags.to_dict(ec2.describe_images(ImageIds=[image])["Images"][0].get("Tags"))


def test_verify_image_passing_leaves_no_running_test_instance_and_tags_nothing(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    lines: list[str] = []

    result = _verify(ec2, image, _spec(net), pacing, lines=lines)

    assert result.passed and result.reason == ""
    assert result.test_instance_id is not None
    assert instance_status.looks(result.test_instance_id) > instance_status.INITIALIZING_LOOKS
    assert _state(ec2, result.test_instance_id) in ("shutting-down", "terminated")
    assert terminate_test_instances(ec2, BAKE) == []
    assert tags.VERIFIED not in _image_tags(ec2, image)
    assert tags.VERIFY_FAILED not in _image_tags(ec2, image)
    assert any("initializing" in line for line in lines)


def test_verify_image_tags_the_test_instance_and_volumes_with_bake_and_image(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    result = _verify(ec2, image, _spec(net), pacing)

    (instance,) = _test_instances(ec2)
    assert instance["InstanceId"] == result.test_instance_id
    found = tags.to_dict(instance["Tags"])
    assert found[tags.BAKE_ID] == BAKE and found[tags.VERIFY_OF] == image
    assert instance["SubnetId"] == net["subnet"]


def test_verify_image_impaired_image_fails_naming_the_check_and_terminates(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    instance_status.impair_image(image, "instance")

    result = _verify(ec2, image, _spec(net), pacing)

    assert not result.passed
    assert result.reason.startswith("instance status check impaired after ")
    assert result.test_instance_id is not None
    assert _state(ec2, result.test_instance_id) in ("shutting-down", "terminated")


def test_verify_image_system_check_impaired_is_named_system(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    instance_status.impair_image(image, "system")

    result = _verify(ec2, image, _spec(net), pacing)

    assert not result.passed and "system status check impaired" in result.reason


def test_verify_image_command_failure_is_the_reason_and_terminates(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    asked: list[str] = []

    def check(instance_id: str) -> str | None:
        asked.append(instance_id)
        assert _state(ec2, instance_id) == "running"
        return "curl localhost:80 exited 7"

    result = _verify(ec2, image, _spec(net), pacing, check_command=check)

    assert not result.passed and result.reason == "curl localhost:80 exited 7"
    assert asked == [result.test_instance_id]
    assert _state(ec2, asked[0]) in ("shutting-down", "terminated")


def test_verify_image_command_passing_passes(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    result = _verify(ec2, image, _spec(net), pacing, check_command=lambda _: None)

    assert result.passed


def test_verify_image_command_raising_still_terminates(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    def check(instance_id: str) -> str | None:
        raise RuntimeError("ssm down")

    with pytest.raises(RuntimeError, match="ssm down"):
        _verify(ec2, image, _spec(net), pacing, check_command=check)

    (instance,) = _test_instances(ec2)
    assert instance["State"]["Name"] in ("shutting-down", "terminated")


def test_verify_image_status_checks_timeout_is_a_result(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instance_status, "INITIALIZING_LOOKS", 10_000)

    result = _verify(ec2, image, _spec(net, timeout_s=120.0), pacing)

    assert not result.passed
    assert "status checks did not pass within verify.timeout_s (120s" in result.reason
    assert result.test_instance_id is not None
    assert _state(ec2, result.test_instance_id) in ("shutting-down", "terminated")


def test_verify_image_instance_terminated_while_starting_did_not_reach_running(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = verify._launch

    def launch_then_lose(*args: Any) -> dict[str, Any] | None:
        instance = original(*args)
        assert instance is not None
        ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
        return instance

    monkeypatch.setattr(verify, "_launch", launch_then_lose)

    result = _verify(ec2, image, _spec(net), pacing)

    assert not result.passed and result.reason.startswith("did not reach running: ")


class _Killed(BaseException):
    """The run's process dies: no finally of ours runs (modelled by skipping terminate)."""


def test_verify_image_resumed_run_adopts_the_same_instance_via_client_token(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(_: str) -> str | None:
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(verify, "_terminate", lambda *a, **k: None)
        with pytest.raises(_Killed):
            _verify(ec2, image, _spec(net), pacing, check_command=killed)
    (left,) = _test_instances(ec2)
    assert left["State"]["Name"] == "running"

    result = _verify(ec2, image, _spec(net), pacing)

    (instance,) = _test_instances(ec2)
    assert result.passed and result.test_instance_id == left["InstanceId"]
    assert instance["InstanceId"] == left["InstanceId"]
    assert instance["State"]["Name"] in ("shutting-down", "terminated")


def test_verify_image_after_leftovers_were_terminated_launches_the_next_attempt(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing
) -> None:
    first = _verify(ec2, image, _spec(net), pacing)

    second = _verify(ec2, image, _spec(net), pacing)

    assert second.passed and second.test_instance_id != first.test_instance_id
    assert len(_test_instances(ec2)) == 2


def test_verify_image_changed_request_terminates_the_earlier_requests_instance(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(verify, "_terminate", lambda *a, **k: None)
        with pytest.raises(_Killed):
            _verify(ec2, image, _spec(net), pacing, check_command=_raise_killed)

    result = _verify(ec2, image, _spec(net, instance_type="t3.small"), pacing)

    assert result.passed
    assert {i["State"]["Name"] for i in _test_instances(ec2)} <= {"shutting-down", "terminated"}


def _raise_killed(_: str) -> str | None:
    raise _Killed


def test_verify_image_request_has_imdsv2_no_public_ip_and_a_short_token(
    ec2: Any, net: dict[str, str], image: str, pacing: Pacing, profile: None
) -> None:
    requests = sent(ec2, "RunInstances")

    _verify(ec2, image, _spec(net, instance_profile="verify-role"), pacing)

    (request,) = requests
    assert request["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled"}
    (interface,) = request["NetworkInterfaces"]
    assert interface == {
        "DeviceIndex": 0,
        "SubnetId": net["subnet"],
        "Groups": [net["group"]],
        "AssociatePublicIpAddress": False,
        "DeleteOnTermination": True,
    }
    assert request["IamInstanceProfile"] == {"Name": "verify-role"}
    assert request["InstanceType"] == "t3.micro"
    assert (request["MinCount"], request["MaxCount"]) == (1, 1)
    assert len(request["ClientToken"]) <= MAX_TOKEN and request["ClientToken"].isascii()
    assert {s["ResourceType"] for s in request["TagSpecifications"]} == {"instance", "volume"}
    for spec in request["TagSpecifications"]:
        assert tags.to_dict(spec["Tags"]) == {tags.BAKE_ID: BAKE, tags.VERIFY_OF: image}


@pytest.fixture
def profile(aws: None) -> None:
    from providers.aws.clients import make_client

    iam = make_client("iam", region="us-east-1")
    iam.create_instance_profile(InstanceProfileName="verify-role")


def test_launch_request_profile_arn_and_public_ip() -> None:
    spec = VerifySpec(
        subnet_id="subnet-0123abcd",
        instance_type="m5.large",
        instance_profile="arn:aws:iam::123456789012:instance-profile/verify",
        associate_public_ip=True,
    )

    params = launch_request("ami-1", spec, bake_id=BAKE, default_instance_type="t3.micro")

    assert params["IamInstanceProfile"] == {
        "Arn": "arn:aws:iam::123456789012:instance-profile/verify"
    }
    assert params["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    assert "Groups" not in params["NetworkInterfaces"][0]
    assert params["InstanceType"] == "m5.large"


def test_client_token_depends_on_bake_request_and_attempt() -> None:
    spec = VerifySpec(subnet_id="subnet-0123abcd")
    params = launch_request("ami-1", spec, bake_id=BAKE, default_instance_type="t3.micro")
    other = launch_request("ami-2", spec, bake_id=BAKE, default_instance_type="t3.micro")

    token = client_token(BAKE, params, 1)

    assert token == client_token(BAKE, params, 1)
    assert len({token, client_token(BAKE, params, 2), client_token(BAKE, other, 1)}) == 3
    assert len(client_token(BAKE, params, verify.MAX_LAUNCHES)) <= MAX_TOKEN


def test_verify_image_from_unavailable_image_propagates_the_aws_error(
    ec2: Any, net: dict[str, str], pacing: Pacing
) -> None:
    with pytest.raises(ClientError, match=r"InvalidAMIID\.NotFound"):
        _verify(ec2, "ami-0123456789abcdef0", _spec(net), pacing)


def test_terminate_test_instances_finds_leftovers_by_tag_only(
    ec2: Any, net: dict[str, str], image: str
) -> None:
    def launch(bake: str, of: str | None) -> str:
        tagged = {tags.BAKE_ID: bake, **({tags.VERIFY_OF: of} if of else {})}
        return str(
            ec2.run_instances(
                ImageId=image,
                MinCount=1,
                MaxCount=1,
                SubnetId=net["subnet"],
                TagSpecifications=tags.spec("instance", tagged),
            )["Instances"][0]["InstanceId"]
        )

    mine, other_bake, golden = launch(BAKE, image), launch("bake-other", image), launch(BAKE, None)
    lines: list[str] = []

    assert terminate_test_instances(ec2, BAKE, log=lines.append) == [mine]
    assert terminate_test_instances(ec2, BAKE) == []  # already shutting down / terminated
    assert _state(ec2, golden) == "running" and _state(ec2, other_bake) == "running"
    assert terminate_test_instances(ec2, image_id=image) == [other_bake]
    assert any(mine in line for line in lines)
    with pytest.raises(TypeError):
        terminate_test_instances(ec2)


def test_mark_verified_tags_image_and_snapshots_and_replaces_the_old_verdict(
    ec2: Any, image: str
) -> None:
    snapshot = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]
    snapshot_id = snapshot["Ebs"]["SnapshotId"]

    mark_verified(ec2, image, [snapshot_id], VerifyResult(False, "x" * 300, "i-1"))
    failed = _image_tags(ec2, image)[tags.VERIFY_FAILED]
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    mark_verified(ec2, image, [snapshot_id], VerifyResult(True, "", "i-2"), lambda: moment)

    assert len(failed) == 256 and failed.endswith("...")
    assert _image_tags(ec2, image) == {tags.VERIFIED: tags.stamp(moment)}
    snapshot_tags = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]["Tags"]
    assert tags.to_dict(snapshot_tags) == {tags.VERIFIED: tags.stamp(moment)}


def test_verify_problems_none_for_a_good_spec(ec2: Any, net: dict[str, str]) -> None:
    assert verify_problems(ec2, _spec(net, instance_type="t3.small")) == []


def test_verify_problems_missing_subnet_names_the_field(ec2: Any, net: dict[str, str]) -> None:
    spec = VerifySpec(subnet_id="subnet-0123abcd")

    (problem,) = verify_problems(ec2, spec, "bake.verify")

    assert problem.field == "bake.verify.subnet_id" and "no such subnet" in problem.fix


def test_verify_problems_group_in_another_vpc(ec2: Any, net: dict[str, str]) -> None:
    other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="x", Description="x", VpcId=other)["GroupId"]

    (problem,) = verify_problems(ec2, _spec(net, security_group_ids=(net["group"], group)))

    assert problem.field == "verify.security_group_ids" and problem.found == [group]
    assert net["vpc"] in problem.fix and "another VPC" in problem.fix


def test_verify_problems_unknown_group_and_instance_type(ec2: Any, net: dict[str, str]) -> None:
    spec = VerifySpec(
        subnet_id=net["subnet"], security_group_ids=("sg-0123abcd",), instance_type="zz9.huge"
    )

    problems = verify_problems(ec2, spec)

    assert [p.field for p in problems] == ["verify.security_group_ids", "verify.instance_type"]
    assert problems[0].found == ["sg-0123abcd"]


def test_verify_failed_error_says_not_handed_on_and_pruned() -> None:
    error = VerifyFailedError("ami-1", "instance status check impaired after 4m")

    assert "ami-1" in str(error) and "impaired after 4m" in str(error)
    assert "not handed on" in str(error) and tags.VERIFY_FAILED in str(error)
    assert "retention" in str(error)
