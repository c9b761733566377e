"""Fixtures for the fleet workflows: a group of 4 on image A, moto plus the extensions.

moto has no instance refreshes: tests/moto_ext/instance_refresh.py adds them (and
asg_health.py the group health moto lacks), with statuses the tests script.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from providers.aws import tags
from providers.aws.fleet import groups
from providers.aws.fleet.instance_refresh import RolloutResult, TemplateVersion, roll_out_template
from providers.aws.rules.rollout import RefreshPreferences
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import instance_refresh

FLEET = "project/stack/web"
PREFS = RefreshPreferences(
    min_healthy_percentage=50,
    instance_warmup_s=120,
    checkpoint_percentages=(50, 100),
    checkpoint_delay_s=300,
)


@pytest.fixture
def refreshes(aws: None) -> Iterator[None]:
    with instance_refresh.installed():
        yield


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


def sent(client: Any, operation: str) -> list[dict[str, Any]]:
    """Parameters of every ``operation`` call the client sends from now on."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    service = client.meta.service_model.service_name
    client.meta.events.register(f"before-parameter-build.{service}.{operation}", record)
    return seen


@dataclass
class Fleet:
    """A group ``web`` of 4 on image A (template version 1); B and C are versions 2, 3."""

    autoscaling: Any
    ec2: Any
    subnet: str
    template_id: str
    images: dict[str, str]
    group: str = "web"

    def version(self, number: int) -> TemplateVersion:
        return TemplateVersion(self.template_id, str(number))

    def describe(self, group: str | None = None) -> dict[str, Any]:
        found = groups.describe_group(self.autoscaling, group or self.group)
        assert found is not None
        return found

    def images_running(self, group: str | None = None) -> list[str]:
        ids = [i["InstanceId"] for i in self.describe(group)["Instances"]]
        reservations = self.ec2.describe_instances(InstanceIds=ids)["Reservations"]
        return sorted(i["ImageId"] for r in reservations for i in r["Instances"])

    def image_name(self, image_id: str) -> str:
        return next(k for k, v in self.images.items() if v == image_id)


def _image(ec2: Any, name: str) -> str:
    return str(
        ec2.register_image(
            Name=f"golden-{name}",
            RootDeviceName="/dev/sda1",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        )["ImageId"]
    )


def make_fleet(autoscaling: Any, ec2: Any, *, size: int = 4, max_size: int | None = None) -> Fleet:
    """Images A, B, C as template versions 1-3, and group ``web`` of ``size`` on A."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    images = {name: _image(ec2, name) for name in ("A", "B", "C")}
    template = ec2.create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={"ImageId": images["A"], "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    for name in ("B", "C"):
        ec2.create_launch_template_version(
            LaunchTemplateId=template,
            LaunchTemplateData={"ImageId": images[name], "InstanceType": "t3.micro"},
        )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web",
        MinSize=size,
        MaxSize=max_size if max_size is not None else size,
        DesiredCapacity=size,
        VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": tags.FLEET, "Value": FLEET, "PropagateAtLaunch": False}],
    )
    return Fleet(autoscaling, ec2, subnet, template, images)


@pytest.fixture
def fleet(refreshes: None, autoscaling: Any, ec2: Any) -> Fleet:
    return make_fleet(autoscaling, ec2)


def roll(fleet: Fleet, version: int, pacing: Pacing, **kwargs: Any) -> RolloutResult:
    """roll_out_template of ``fleet``'s group to template ``version`` (image A, B, C)."""
    return roll_out_template(
        fleet.autoscaling,
        fleet.ec2,
        fleet.group,
        fleet.version(version),
        fleet.images["ABC"[version - 1]],
        kwargs.pop("prefs", PREFS),
        pacing=pacing,
        **kwargs,
    )


def add_group(
    fleet: Fleet,
    name: str,
    image: str,
    *,
    fleet_tag: str = FLEET,
    size: int = 2,
    max_size: int | None = None,
    target_groups: list[str] | None = None,
) -> str:
    """A group ``name`` of ``size`` on a launch configuration of ``image``; its LC name."""
    config = f"web-lc-{name}"
    fleet.autoscaling.create_launch_configuration(
        LaunchConfigurationName=config, ImageId=fleet.images[image], InstanceType="t3.micro"
    )
    fleet.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=size,
        MaxSize=max_size if max_size is not None else size,
        DesiredCapacity=size,
        VPCZoneIdentifier=fleet.subnet,
        LaunchConfigurationName=config,
        TargetGroupARNs=target_groups or [],
        Tags=[{"Key": tags.FLEET, "Value": fleet_tag, "PropagateAtLaunch": False}],
    )
    return config


def configurations(fleet: Fleet) -> list[str]:
    found = fleet.autoscaling.describe_launch_configurations()["LaunchConfigurations"]
    return sorted(c["LaunchConfigurationName"] for c in found)


@pytest.fixture
def elbv2(aws: None) -> Any:
    from providers.aws.clients import make_client

    return make_client("elbv2", region=REGION)


@pytest.fixture
def cloudwatch(aws: None) -> Any:
    from providers.aws.clients import make_client

    return make_client("cloudwatch", region=REGION)
