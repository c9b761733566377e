"""The moto extensions the verify tests stand on behave as the AWS pages they cite.

tests/moto_ext/instance_status.py: checks ``initializing`` for a few looks, then ``ok``
(or ``impaired`` for a scripted image); ``not-applicable`` when not running.
tests/moto_ext/image_launch.py: ClientToken idempotency and launches only from
``available`` images.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ec2.responses.instances import InstanceResponse

from tests.conftest import plain_image
from tests.moto_ext import image_launch, instance_status


@pytest.fixture
def extended(aws: None) -> Iterator[None]:
    with instance_status.installed(), image_launch.installed():
        yield


def _run(ec2: Any, image: str, **kwargs: Any) -> dict[str, Any]:
    return dict(ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, **kwargs))


def _status(ec2: Any, instance_id: str) -> dict[str, Any]:
    found = ec2.describe_instance_status(InstanceIds=[instance_id], IncludeAllInstances=True)
    (status,) = found["InstanceStatuses"]
    return dict(status)


def test_instance_status_initializing_then_ok(ec2: Any, extended: None) -> None:
    instance = _run(ec2, plain_image(ec2))["Instances"][0]["InstanceId"]

    seen = [_status(ec2, instance) for _ in range(instance_status.INITIALIZING_LOOKS + 1)]

    assert [s["InstanceStatus"]["Status"] for s in seen] == ["initializing"] * (
        instance_status.INITIALIZING_LOOKS
    ) + ["ok"]
    assert seen[-1]["SystemStatus"]["Details"] == [{"Name": "reachability", "Status": "passed"}]


def test_instance_status_impaired_image_reports_failed_reachability(
    ec2: Any, extended: None
) -> None:
    image = plain_image(ec2)
    instance_status.impair_image(image, "system")
    instance = _run(ec2, image)["Instances"][0]["InstanceId"]

    for _ in range(instance_status.INITIALIZING_LOOKS):
        _status(ec2, instance)
    status = _status(ec2, instance)

    assert status["InstanceStatus"]["Status"] == "ok"
    assert status["SystemStatus"]["Status"] == "impaired"
    (detail,) = status["SystemStatus"]["Details"]
    assert detail["Status"] == "failed" and "ImpairedSince" in detail


def test_instance_status_not_running_is_not_applicable_and_listed_only_with_all(
    ec2: Any, extended: None
) -> None:
    instance = _run(ec2, plain_image(ec2))["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])

    status = _status(ec2, instance)

    assert status["InstanceStatus"] == {"Status": "not-applicable"}
    assert status["InstanceState"]["Name"] == "stopped"
    assert ec2.describe_instance_status(InstanceIds=[instance])["InstanceStatuses"] == []
    assert instance_status.looks(instance) == 0


def test_run_instances_same_token_returns_the_same_instance(ec2: Any, extended: None) -> None:
    image = plain_image(ec2)
    first = _run(ec2, image, ClientToken="token-1")["Instances"][0]
    ec2.terminate_instances(InstanceIds=[first["InstanceId"]])

    again = _run(ec2, image, ClientToken="token-1")["Instances"][0]

    assert again["InstanceId"] == first["InstanceId"]
    assert again["State"]["Name"] in ("shutting-down", "terminated")
    assert len(ec2.describe_instances()["Reservations"]) == 1


def test_run_instances_same_token_other_parameters_is_a_mismatch(ec2: Any, extended: None) -> None:
    image = plain_image(ec2)
    _run(ec2, image, ClientToken="token-1")

    with pytest.raises(ClientError, match="IdempotentParameterMismatch"):
        _run(ec2, image, ClientToken="token-1", InstanceType="m5.large")


def test_run_instances_refuses_unknown_and_unavailable_images(ec2: Any, extended: None) -> None:
    image = plain_image(ec2)
    from moto.ec2.models import ec2_backends

    backend = ec2_backends["123456789012"]["us-east-1"]
    backend.amis[image].state = "pending"

    with pytest.raises(ClientError, match=r"InvalidAMIID\.Unavailable"):
        _run(ec2, image)
    with pytest.raises(ClientError, match=r"InvalidAMIID\.NotFound"):
        _run(ec2, "ami-0123456789abcdef0")


def test_extensions_uninstall_put_moto_back(aws: None) -> None:
    before = (InstanceResponse.run_instances, InstanceResponse.describe_instance_status)
    with instance_status.installed(), image_launch.installed():
        assert InstanceResponse.run_instances is not before[0]
    assert (InstanceResponse.run_instances, InstanceResponse.describe_instance_status) == before


def test_terminate_instances_twice_succeeds(ec2: Any, extended: None) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    interface = {"DeviceIndex": 0, "SubnetId": subnet, "DeleteOnTermination": True}
    instance = _run(ec2, plain_image(ec2), NetworkInterfaces=[interface])["Instances"][0]
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])

    again = ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])

    assert again["TerminatingInstances"][0]["CurrentState"]["Name"] in (
        "shutting-down",
        "terminated",
    )
