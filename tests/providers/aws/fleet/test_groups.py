"""Group health, drain and delete against moto plus the extensions; no test sleeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws.errors import GroupUnhealthyError
from providers.aws.fleet import groups
from providers.aws.wait_table import WAITS
from providers.aws.waits import Pacing
from tests.conftest import FakeClock
from tests.moto_ext import asg_health, instance_refresh
from tests.providers.aws.conftest import FLEET, Fleet, add_group, configurations, sent


def _watched(fleet: Fleet, group: str, image: str, elbv2: Any = None) -> groups.WatchedGroup:
    """The group of the fixture fleet, expected on its image ``image``."""
    return groups.WatchedGroup(fleet.autoscaling, fleet.ec2, group, fleet.images[image], elbv2)


def test_wait_for_group_healthy_capacity_on_image_returns_ready_instances(
    fleet: Fleet, pacing: Pacing
) -> None:
    health = groups.wait_for_group_healthy(_watched(fleet, "web", "A"), pacing=pacing)

    assert health.phase == "healthy" and health.desired == 4 and len(health.ready) == 4


def test_wait_for_group_healthy_unhealthy_image_times_out_naming_each_instance(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    instance_refresh.mark_unhealthy(fleet.images["B"])
    add_group(fleet, "web-b", "B")

    with pytest.raises(GroupUnhealthyError) as caught:
        groups.wait_for_group_healthy(
            _watched(fleet, "web-b", "B"),
            pacing=pacing,
            spec=WAITS["group_healthy"].spec.with_deadline(300),
        )

    err = caught.value
    assert (err.wanted, err.ready, err.status) == (2, 0, "unhealthy")
    assert len(err.problems) == 2 and all("InService/Unhealthy" in p for p in err.problems)
    assert f"running {fleet.images['B']} within 3" in str(err)
    assert 300 <= err.elapsed_s < 400 and sum(fake_clock.sleeps) <= 300


def test_wait_for_group_healthy_wrong_image_is_not_ready(fleet: Fleet, pacing: Pacing) -> None:
    with pytest.raises(GroupUnhealthyError) as caught:
        groups.wait_for_group_healthy(
            _watched(fleet, "web", "B"),
            pacing=pacing,
            spec=WAITS["group_healthy"].spec.with_deadline(60),
        )

    assert all(f"runs {fleet.images['A']}" in p for p in caught.value.problems)


def test_wait_for_group_healthy_group_deleted_fails_without_waiting(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    fleet.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="web", ForceDelete=True)

    with pytest.raises(GroupUnhealthyError) as caught:
        groups.wait_for_group_healthy(_watched(fleet, "web", "A"), pacing=pacing)

    assert caught.value.status == "gone" and "is gone" in str(caught.value)
    assert fake_clock.sleeps == []


def test_delete_group_launch_configuration_goes_after_its_group(
    fleet: Fleet, pacing: Pacing
) -> None:
    config = add_group(fleet, "web-a", "A")
    deletes = sent(fleet.autoscaling, "DeleteLaunchConfiguration")

    groups.delete_group(fleet.autoscaling, "web-a", launch_configuration=config, pacing=pacing)
    groups.delete_group(fleet.autoscaling, "web-a", launch_configuration=config, pacing=pacing)

    assert groups.describe_group(fleet.autoscaling, "web-a") is None
    assert config not in configurations(fleet) and len(deletes) == 2


def test_delete_group_drains_then_deletes_without_force(fleet: Fleet, pacing: Pacing) -> None:
    add_group(fleet, "web-a", "A")
    updates = sent(fleet.autoscaling, "UpdateAutoScalingGroup")

    groups.delete_group(fleet.autoscaling, "web-a", pacing=pacing)

    assert updates == [
        {"AutoScalingGroupName": "web-a", "MinSize": 0, "DesiredCapacity": 0, "MaxSize": 0}
    ]
    assert asg_health.DELETIONS == [("web-a", False)]


def test_delete_group_with_instances_without_force_is_refused_as_aws_does(fleet: Fleet) -> None:
    with pytest.raises(ClientError, match="ResourceInUse"):
        fleet.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="web")

    assert groups.describe_group(fleet.autoscaling, "web") is not None


def _target_group(fleet: Fleet, elbv2: Any) -> str:
    vpc = fleet.ec2.describe_subnets(SubnetIds=[fleet.subnet])["Subnets"][0]["VpcId"]
    return str(
        elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][
            0
        ]["TargetGroupArn"]
    )


def test_wait_for_group_healthy_targets_unhealthy_in_grace_period_is_not_ready(
    fleet: Fleet, pacing: Pacing, elbv2: Any
) -> None:
    arn = _target_group(fleet, elbv2)
    asg_health.mark_targets_unhealthy(fleet.images["B"])
    add_group(fleet, "web-b", "B", target_groups=[arn])

    with pytest.raises(GroupUnhealthyError) as caught:
        groups.wait_for_group_healthy(
            _watched(fleet, "web-b", "B", elbv2),
            pacing=pacing,
            spec=WAITS["group_healthy"].spec.with_deadline(300),
        )

    # Auto Scaling still calls them Healthy (grace period); the target group does not.
    assert all(i["HealthStatus"] == "Healthy" for i in fleet.describe("web-b")["Instances"])
    assert caught.value.ready == 0
    assert all(
        "target web: unhealthy (Target.FailedHealthChecks)" in p for p in caught.value.problems
    )


def test_wait_for_group_healthy_healthy_targets_are_ready(
    fleet: Fleet, pacing: Pacing, elbv2: Any
) -> None:
    arn = _target_group(fleet, elbv2)
    add_group(fleet, "web-b", "B", target_groups=[arn])
    checks = sent(elbv2, "DescribeTargetHealth")

    health = groups.wait_for_group_healthy(_watched(fleet, "web-b", "B", elbv2), pacing=pacing)

    assert len(health.ready) == 2 and checks and checks[0]["TargetGroupArn"] == arn


def test_wait_for_group_healthy_failed_scaling_activity_fails_at_once(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    since = datetime.now(UTC)
    instance_refresh.mark_unhealthy(fleet.images["B"])
    add_group(fleet, "web-b", "B")
    asg_health.fail_scaling_activity("web-b", "The image id 'ami-0bad' does not exist")

    with pytest.raises(GroupUnhealthyError) as caught:
        groups.wait_for_group_healthy(_watched(fleet, "web-b", "B"), since=since, pacing=pacing)

    assert "scaling activity failed: The image id 'ami-0bad' does not exist" in str(caught.value)
    assert fake_clock.sleeps == []


def test_fleet_groups_more_than_a_page_follows_next_token(fleet: Fleet) -> None:
    # moto pages DescribeAutoScalingGroups at 50, as AWS does by default.
    for n in range(50):
        add_group(fleet, f"web-{n:02}", "A", size=0)
    calls = sent(fleet.autoscaling, "DescribeAutoScalingGroups")

    found = groups.fleet_groups(fleet.autoscaling, FLEET)

    assert len(found) == 51 and len({g["AutoScalingGroupName"] for g in found}) == 51
    assert len(calls) == 2 and "NextToken" not in calls[0] and calls[1]["NextToken"]
