"""ImageFleet and customer managed keys, on the moto-backed engine.

tests/moto_ext/kms_keys.py models Auto Scaling's launch failure for a key its
service-linked role may not use ("Client.InternalError: Client error on launch").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components import ImageFleet, ImageFleetArgs
from providers.aws.clients import make_client
from providers.aws.rules.rollout import RefreshPreferences
from tests.conftest import REGION
from tests.harness.moto_engine import MotoEngine, Network
from tests.moto_ext import asg_health, kms_keys

ROLE = (
    "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)


@pytest.fixture
def kms(moto_engine: MotoEngine) -> Iterator[Any]:
    with kms_keys.installed(), asg_health.installed():
        yield make_client("kms", region=REGION)


def _encrypted_image(network: Network, kms: Any, name: str) -> tuple[str, str]:
    """An image whose root snapshot uses a new customer managed key (default policy)."""
    key = str(kms.create_key()["KeyMetadata"]["Arn"])
    ec2 = network.ec2
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True, KmsKeyId=key)
    snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
    image = ec2.register_image(
        Name=name,
        RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snapshot, "Encrypted": True}}
        ],
    )["ImageId"]
    return str(image), key


def _program(network: Network, image: str, **extra: Any) -> Any:
    def program() -> Any:
        args = ImageFleetArgs(
            image_id=image,
            instance_type="t3.micro",
            subnet_ids=[network.subnet_id],
            min_size=1,
            max_size=2,
            desired_capacity=1,
            refresh=RefreshPreferences(min_healthy_percentage=50),
            rollout_timeout_s=600,
            **extra,
        )
        return ImageFleet("web", args).image_id

    return program


def test_fleet_customer_key_role_may_not_use_fails_naming_key_and_role(
    moto_engine: MotoEngine, network: Network, kms: Any
) -> None:
    image, key = _encrypted_image(network, kms, "golden-a")

    with pytest.raises(Exception) as failed:
        moto_engine.up(_program(network, image))

    message = str(failed.value)
    assert key in message and ROLE in message and "create_kms_grant" in message
    assert moto_engine.groups() == {}


def test_fleet_create_kms_grant_grants_before_the_template_and_destroy_retires(
    moto_engine: MotoEngine, network: Network, kms: Any
) -> None:
    image, key = _encrypted_image(network, kms, "golden-a")

    moto_engine.up(_program(network, image, create_kms_grant=True))

    steps = [name for verb, name in moto_engine.steps if verb == "create"]
    assert steps.index("web-kms-grant") < steps.index("web-lt")
    grants = kms.list_grants(KeyId=key)["Grants"]
    assert [g["GranteePrincipal"] for g in grants] == [ROLE]
    assert "GenerateDataKeyWithoutPlaintext" in grants[0]["Operations"]
    (group,) = moto_engine.groups().values()
    assert len(group) == 1  # the role may use the key: the launch succeeded

    moto_engine.destroy()

    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_model_group_launch_without_grant_fails_with_client_internal_error(
    moto_engine: MotoEngine, network: Network, kms: Any
) -> None:
    image, _ = _encrypted_image(network, kms, "golden-a")
    autoscaling = moto_engine.autoscaling
    template = network.ec2.create_launch_template(
        LaunchTemplateName="raw", LaunchTemplateData={"ImageId": image}
    )["LaunchTemplate"]["LaunchTemplateId"]

    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="raw",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=1,
        MaxSize=1,
        VPCZoneIdentifier=network.subnet_id,
    )

    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["raw"])
    assert group["AutoScalingGroups"][0]["Instances"] == []
    activity = autoscaling.describe_scaling_activities(AutoScalingGroupName="raw")["Activities"][0]
    assert activity["StatusMessage"] == kms_keys.LAUNCH_FAILURE
