"""ImageFleet on the moto-backed engine: who may delete a group, capacity, health gates.

Each test runs successive ``pulumi up``s (or a destroy) through ``moto_engine``: the
aws resources are made in moto, Bakery's providers run for real, and the moto
extensions (tests/moto_ext/) behave as the Auto Scaling documentation says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components import ImageFleet, ImageFleetArgs
from providers.aws.errors import GroupUnhealthyError, RefreshFailedError
from providers.aws.rules.rollout import RefreshPreferences
from tests.harness.moto_engine import MotoEngine, Network
from tests.moto_ext import asg_health, instance_refresh


def _args(network: Network, image: str, **overrides: Any) -> ImageFleetArgs:
    fields: dict[str, Any] = {
        "image_id": image,
        "instance_type": "t3.micro",
        "subnet_ids": [network.subnet_id],
        "min_size": 2,
        "max_size": 4,
        "desired_capacity": 2,
        "refresh": RefreshPreferences(min_healthy_percentage=50),
        "rollout_timeout_s": 600,
    }
    fields.update(overrides)
    return ImageFleetArgs(**fields)


def _program(args: ImageFleetArgs, name: str = "web") -> Callable[[], Any]:
    def program() -> Any:
        return ImageFleet(name, args).image_id

    return program


def _instances(engine: MotoEngine, group: str) -> list[str]:
    return sorted(i["InstanceId"] for i in engine.groups()[group])


def _target_group(engine: MotoEngine, network: Network) -> str:
    vpc = network.ec2.describe_subnets(SubnetIds=[network.subnet_id])["Subnets"][0]["VpcId"]
    made = engine.elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)
    return str(made["TargetGroups"][0]["TargetGroupArn"])


# --- ownership: a serving group is never deleted by a cutover that does not own it ------


def test_blue_green_to_rolling_same_image_leaves_the_serving_group_untouched(
    moto_engine: MotoEngine, network: Network
) -> None:
    image = network.image("golden-a")
    moto_engine.up(_program(_args(network, image, rollout="blue_green")))
    group = moto_engine.output("web-asg", "name")
    before = _instances(moto_engine, group)

    moto_engine.up(_program(_args(network, image, rollout="rolling")))

    assert ("delete", "web-cutover") in moto_engine.steps  # the cutover went...
    assert list(moto_engine.groups()) == [group]  # ...its serving group did not
    assert _instances(moto_engine, group) == before
    assert asg_health.DELETIONS == []


def test_stack_rename_leaves_the_serving_group_untouched(
    moto_engine: MotoEngine, network: Network
) -> None:
    image = network.image("golden-a")
    moto_engine.up(_program(_args(network, image, rollout="blue_green")))
    group = moto_engine.output("web-asg", "name")
    fleet_id = moto_engine.output("web-fleet", "fleet_id")
    before = _instances(moto_engine, group)

    moto_engine.rename_stack("renamed")
    moto_engine.up(_program(_args(network, image, rollout="blue_green")))

    assert moto_engine.output("web-fleet", "fleet_id") == fleet_id  # kept in the state
    assert list(moto_engine.groups()) == [group]
    assert _instances(moto_engine, group) == before
    assert not [s for s in moto_engine.steps if s[0] in ("replace", "delete")]


def test_two_fleets_with_the_same_names_never_touch_each_others_groups(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    other = MotoEngine()  # another `dev` stack of the same project, same account/region
    other.up(_program(_args(network, image_a, rollout="blue_green")))
    theirs = other.output("web-asg", "name")
    their_instances = _instances(other, theirs)

    moto_engine.up(_program(_args(network, image_a, rollout="blue_green")))
    moto_engine.up(_program(_args(network, image_b, rollout="blue_green")))
    moto_engine.destroy()

    assert moto_engine.output is not None
    assert other.output("web-fleet", "fleet_id") != "project/stack/web"
    assert list(moto_engine.groups()) == [theirs]
    assert _instances(moto_engine, theirs) == their_instances


def test_destroy_after_a_failed_first_deploy_leaves_no_group(
    moto_engine: MotoEngine, network: Network
) -> None:
    bad = network.image("golden-bad")
    instance_refresh.mark_unhealthy(bad)
    with pytest.raises(GroupUnhealthyError):
        moto_engine.up(_program(_args(network, bad, rollout="blue_green")))
    assert len(moto_engine.groups()) == 1  # retained: the cutover never owned it

    moto_engine.destroy()

    assert moto_engine.groups() == {}
    assert all(not force for _name, force in asg_health.DELETIONS)


# --- the health gate: target groups ------------------------------------------------------


def test_blue_green_new_targets_unhealthy_past_grace_fails_and_old_group_keeps_serving(
    moto_engine: MotoEngine, network: Network
) -> None:
    good, bad = network.image("golden-a"), network.image("golden-b")
    arn = _target_group(moto_engine, network)
    moto_engine.up(_program(_args(network, good, rollout="blue_green", target_group_arns=[arn])))
    serving = moto_engine.output("web-asg", "name")
    before = _instances(moto_engine, serving)
    # Auto Scaling calls the new instances Healthy (grace period); their targets fail.
    asg_health.mark_targets_unhealthy(bad)

    with pytest.raises(GroupUnhealthyError) as caught:
        moto_engine.up(_program(_args(network, bad, rollout="blue_green", target_group_arns=[arn])))

    message = str(caught.value)
    assert "target web: unhealthy (Target.FailedHealthChecks)" in message
    assert "keep serving and were not removed" in message
    assert _instances(moto_engine, serving) == before  # at its capacity
    assert moto_engine.describe(serving)["DesiredCapacity"] == 2


def test_blue_green_healthy_targets_drain_the_old_group_then_delete_it_without_force(
    moto_engine: MotoEngine, network: Network
) -> None:
    good, new = network.image("golden-a"), network.image("golden-b")
    arn = _target_group(moto_engine, network)
    moto_engine.up(_program(_args(network, good, rollout="blue_green", target_group_arns=[arn])))
    old = moto_engine.output("web-asg", "name")
    updates = moto_engine.sent("UpdateAutoScalingGroup")

    moto_engine.up(_program(_args(network, new, rollout="blue_green", target_group_arns=[arn])))

    assert {"AutoScalingGroupName": old, "MinSize": 0, "DesiredCapacity": 0, "MaxSize": 0} in (
        updates
    )
    assert (old, False) in asg_health.DELETIONS
    assert moto_engine.serving_images() == [new, new]


def test_with_target_groups_the_health_check_type_defaults_to_elb(
    moto_engine: MotoEngine, network: Network
) -> None:
    arn = _target_group(moto_engine, network)
    moto_engine.up(_program(_args(network, network.image("golden-a"), target_group_arns=[arn])))

    group = moto_engine.describe(moto_engine.output("web-asg", "name"))
    assert group["HealthCheckType"] == "ELB" and group["TargetGroupARNs"] == [arn]


# --- capacity ----------------------------------------------------------------------------


def test_rolling_one_instance_launches_before_it_terminates(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    args = {"min_size": 1, "max_size": None, "desired_capacity": 1, "refresh": RefreshPreferences()}
    moto_engine.up(_program(_args(network, image_a, **args)))
    group = moto_engine.output("web-asg", "name")

    moto_engine.up(_program(_args(network, image_b, **args)))

    seen = instance_refresh.capacity_seen(group)
    assert seen and 0 not in seen  # never zero InService
    assert moto_engine.serving_images() == [image_b]
    assert moto_engine.describe(group)["MaxSize"] == 2  # the default leaves room


def test_rolling_four_at_90_percent_never_drops_below_four(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    args = {"min_size": 4, "max_size": 5, "desired_capacity": 4, "refresh": RefreshPreferences()}
    moto_engine.up(_program(_args(network, image_a, **args)))
    group = moto_engine.output("web-asg", "name")

    moto_engine.up(_program(_args(network, image_b, **args)))

    # 4 x 90 % = 3.6, which AWS rounds up to 4.
    assert min(instance_refresh.capacity_seen(group)) >= 4
    assert moto_engine.serving_images() == [image_b] * 4


def test_blue_green_new_group_starts_at_the_scaled_out_capacity(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    args = {"rollout": "blue_green", "min_size": 3, "max_size": 12, "desired_capacity": 3}
    moto_engine.up(_program(_args(network, image_a, **args)))
    old = moto_engine.output("web-asg", "name")
    moto_engine.autoscaling.set_desired_capacity(AutoScalingGroupName=old, DesiredCapacity=9)

    moto_engine.up(_program(_args(network, image_b, **args)))

    new = moto_engine.output("web-asg", "name")
    assert new != old and moto_engine.describe(new)["DesiredCapacity"] == 9
    assert moto_engine.serving_images() == [image_b] * 9


# --- refresh preferences ---------------------------------------------------------------


def test_rolling_alarm_in_alarm_rolls_back_and_the_update_fails_saying_so(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    watch = moto_engine.cloudwatch
    watch.put_metric_alarm(
        AlarmName="web-5xx",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    prefs = RefreshPreferences(min_healthy_percentage=50, alarm_names=("web-5xx",))
    moto_engine.up(_program(_args(network, image_a, refresh=prefs)))
    watch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")

    with pytest.raises(RefreshFailedError) as caught:
        moto_engine.up(_program(_args(network, image_b, refresh=prefs)))

    assert "CloudWatch alarm web-5xx is in ALARM state" in str(caught.value)
    assert "Auto-rollback succeeded" in str(caught.value)
    assert moto_engine.serving_images() == [image_a, image_a]


def test_rolling_standby_and_protected_instances_with_defaults_complete(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")
    moto_engine.up(_program(_args(network, image_a, desired_capacity=3)))
    group = moto_engine.output("web-asg", "name")
    ids = _instances(moto_engine, group)
    moto_engine.autoscaling.enter_standby(
        AutoScalingGroupName=group, InstanceIds=ids[:1], ShouldDecrementDesiredCapacity=False
    )
    moto_engine.autoscaling.set_instance_protection(
        AutoScalingGroupName=group, InstanceIds=ids[1:2], ProtectedFromScaleIn=True
    )

    moto_engine.up(_program(_args(network, image_b, desired_capacity=3)))

    assert moto_engine.output("web-rollout", "status") == "Successful"


def test_rolling_destroy_drains_and_deletes_the_group_without_force(
    moto_engine: MotoEngine, network: Network
) -> None:
    moto_engine.up(_program(_args(network, network.image("golden-a"))))
    group = moto_engine.output("web-asg", "name")

    moto_engine.destroy()

    deleted = asg_health.DELETIONS
    assert moto_engine.groups() == {}
    assert deleted == [(group, False)]
    assert ("retain", "web-asg") in moto_engine.steps  # the FleetIdentity deleted it


def test_rolling_to_blue_green_with_a_new_image_keeps_serving_through_a_failed_cutover(
    moto_engine: MotoEngine, network: Network
) -> None:
    good, bad, fixed = (network.image(n) for n in ("golden-a", "golden-bad", "golden-c"))
    instance_refresh.mark_unhealthy(bad)
    moto_engine.up(_program(_args(network, good)))
    serving = moto_engine.output("web-asg", "name")
    before = _instances(moto_engine, serving)

    with pytest.raises(GroupUnhealthyError):
        moto_engine.up(_program(_args(network, bad, rollout="blue_green")))
    assert _instances(moto_engine, serving) == before
    moto_engine.up(_program(_args(network, fixed, rollout="blue_green")))

    # It served until the fixed group's cutover made that one serve.
    assert serving in moto_engine.groups_when["web-cutover"][-1]
    assert moto_engine.serving_images() == [fixed, fixed]
