"""Blue/green cutover and group ownership against moto plus the extensions."""

from __future__ import annotations

import pytest

from providers.aws import tags
from providers.aws.errors import GroupUnhealthyError
from providers.aws.fleet import cutover, groups
from providers.aws.waits import Pacing
from tests.moto_ext import instance_refresh
from tests.providers.aws.conftest import FLEET, Fleet, add_group, configurations


def test_cut_over_healthy_group_retires_the_fleets_other_groups_and_configurations(
    fleet: Fleet, pacing: Pacing
) -> None:
    old_config = add_group(fleet, "web-a", "A")
    new_config = add_group(fleet, "web-b", "B")
    add_group(fleet, "api-a", "A", fleet_tag="project/stack/api")

    result = cutover.cut_over(
        fleet.autoscaling,
        fleet.ec2,
        "web-b",
        fleet.images["B"],
        FLEET,
        launch_configuration_prefix="web-lc-",
        pacing=pacing,
    )

    # "web" (the template group of this fleet) and "web-a" go; another fleet's stays.
    assert result.retired == ["web", "web-a"] and len(result.health.ready) == 2
    remaining = fleet.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    assert sorted(g["AutoScalingGroupName"] for g in remaining) == ["api-a", "web-b"]
    assert old_config not in configurations(fleet) and new_config in configurations(fleet)
    found = {t["Key"]: t["Value"] for t in fleet.describe("web-b")["Tags"]}
    assert found[tags.SERVING] == FLEET  # the serving token is the fleet id


def test_cut_over_unhealthy_group_deletes_nothing_and_old_group_keeps_serving(
    fleet: Fleet, pacing: Pacing
) -> None:
    old_config = add_group(fleet, "web-a", "A")
    instance_refresh.mark_unhealthy(fleet.images["B"])
    add_group(fleet, "web-b", "B")
    serving = fleet.describe("web-a")["Instances"]

    with pytest.raises(GroupUnhealthyError) as caught:
        cutover.cut_over(
            fleet.autoscaling,
            fleet.ec2,
            "web-b",
            fleet.images["B"],
            FLEET,
            launch_configuration_prefix="web-lc-",
            timeout_s=120,
            pacing=pacing,
        )

    assert "other groups keep serving and were not removed" in str(caught.value)
    assert fleet.describe("web-a")["Instances"] == serving
    assert all(i["HealthStatus"] == "Healthy" for i in serving)
    assert old_config in configurations(fleet)


def test_cut_over_new_group_starts_at_the_serving_groups_scaled_out_capacity(
    fleet: Fleet, pacing: Pacing
) -> None:
    add_group(fleet, "web-a", "A", size=9)
    cutover.mark_serving(fleet.autoscaling, "web-a", FLEET)
    add_group(fleet, "web-b", "B", size=3, max_size=12)

    result = cutover.cut_over(
        fleet.autoscaling, fleet.ec2, "web-b", fleet.images["B"], FLEET, pacing=pacing
    )

    assert result.desired == 9 and len(result.health.ready) == 9
    assert fleet.describe("web-b")["DesiredCapacity"] == 9


def test_release_group_serving_group_stays_when_no_other_group_serves(
    fleet: Fleet, pacing: Pacing
) -> None:
    add_group(fleet, "web-a", "A")
    cutover.mark_serving(fleet.autoscaling, "web-a", FLEET)
    instances = fleet.describe("web-a")["Instances"]

    deleted = cutover.release_group(fleet.autoscaling, fleet.ec2, "web-a", FLEET, pacing=pacing)

    assert deleted is False and fleet.describe("web-a")["Instances"] == instances


def test_release_group_goes_once_another_group_of_the_fleet_serves(
    fleet: Fleet, pacing: Pacing
) -> None:
    add_group(fleet, "web-a", "A")
    cutover.mark_serving(fleet.autoscaling, "web-a", FLEET)
    add_group(fleet, "web-b", "B")
    cutover.mark_serving(fleet.autoscaling, "web-b", FLEET)

    deleted = cutover.release_group(fleet.autoscaling, fleet.ec2, "web-a", FLEET, pacing=pacing)

    assert deleted is True and groups.describe_group(fleet.autoscaling, "web-a") is None
    assert groups.describe_group(fleet.autoscaling, "web-b") is not None


def test_release_group_of_another_fleet_id_is_never_touched(fleet: Fleet, pacing: Pacing) -> None:
    add_group(fleet, "web-x", "A", fleet_tag=f"{FLEET}#other")

    deleted = cutover.release_group(fleet.autoscaling, fleet.ec2, "web-x", FLEET, pacing=pacing)

    assert deleted is False and groups.describe_group(fleet.autoscaling, "web-x") is not None


def test_release_group_leftover_goes_once_another_group_serves(
    fleet: Fleet, pacing: Pacing
) -> None:
    add_group(fleet, "web-b", "B")  # a failed cutover's group: never marked serving
    assert not cutover.release_group(fleet.autoscaling, fleet.ec2, "web-b", FLEET, pacing=pacing)
    cutover.mark_serving(fleet.autoscaling, "web", FLEET)

    assert cutover.release_group(fleet.autoscaling, fleet.ec2, "web-b", FLEET, pacing=pacing)


def test_release_group_whose_token_was_lost_is_kept(fleet: Fleet, pacing: Pacing) -> None:
    # `pulumi refresh` + `up`: pulumi-aws drops the bakery:serving tag it does not know.
    add_group(fleet, "web-a", "A")

    assert not cutover.release_group(fleet.autoscaling, fleet.ec2, "web-a", FLEET, pacing=pacing)
    assert groups.describe_group(fleet.autoscaling, "web-a") is not None


def test_retire_fleet_deletes_every_group_of_the_id_only(fleet: Fleet, pacing: Pacing) -> None:
    add_group(fleet, "web-b", "B")
    add_group(fleet, "web-x", "A", fleet_tag=f"{FLEET}#other")

    retired = cutover.retire_fleet(fleet.autoscaling, FLEET, pacing=pacing)

    assert retired == ["web", "web-b"]
    assert groups.describe_group(fleet.autoscaling, "web-x") is not None


def test_is_serving_reads_earlier_bakerys_true_token(fleet: Fleet) -> None:
    fleet.autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "web",
                "ResourceType": "auto-scaling-group",
                "Key": tags.SERVING,
                "Value": "true",
                "PropagateAtLaunch": False,
            }
        ]
    )

    assert cutover.is_serving(fleet.describe(), FLEET)
    assert not cutover.is_serving(fleet.describe(), f"{FLEET}#other")
