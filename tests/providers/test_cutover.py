"""The BlueGreenCutover provider, its methods called directly against moto."""

from __future__ import annotations

from typing import Any

import pytest

from providers.aws.errors import GroupUnhealthyError
from providers.aws.fleet import cutover, groups
from providers.cutover import BlueGreenCutoverProvider
from tests.conftest import REGION
from tests.moto_ext import asg_health, instance_refresh
from tests.providers.aws.conftest import FLEET, Fleet, add_group


def _cutover_props(fleet: Fleet, group: str, image: str, config: str) -> dict[str, Any]:
    return {
        "group_name": group,
        "image_id": fleet.images[image],
        "fleet": FLEET,
        "launch_template_id": None,
        "launch_template_version": None,
        "launch_configuration_name": config,
        "launch_configuration_prefix": "web-lc-",
        "timeout_s": 600.0,
        "region": REGION,
        "endpoint_url": None,
        "__provider": "serialized",
    }


def test_blue_green_cutover_check_missing_fleet_and_bad_timeout_fail() -> None:
    result = BlueGreenCutoverProvider().check(
        {}, {"group_name": "web-b", "image_id": "ami-0b", "fleet": "", "timeout_s": -1}
    )

    assert [f.property for f in result.failures] == ["fleet", "timeout_s"]


def test_blue_green_cutover_diff_new_group_replaces() -> None:
    olds = {"group_name": "web-a", "image_id": "ami-a", "fleet": FLEET}
    news = {"group_name": "web-b", "image_id": "ami-b", "fleet": FLEET}

    diff = BlueGreenCutoverProvider().diff("web-a", olds, news)

    assert diff.replaces == ["group_name"] and diff.delete_before_replace is False


def test_blue_green_cutover_create_healthy_group_retires_old_group(fleet: Fleet) -> None:
    old_config = add_group(fleet, "web-a", "A")
    new_config = add_group(fleet, "web-b", "B")

    result = BlueGreenCutoverProvider().create(_cutover_props(fleet, "web-b", "B", new_config))

    assert result.id == "web-b" and result.outs is not None
    assert result.outs["retired_groups"] == ["web", "web-a"]
    assert len(result.outs["healthy_instances"]) == 2
    assert groups.describe_group(fleet.autoscaling, "web-a") is None
    configs = fleet.autoscaling.describe_launch_configurations()["LaunchConfigurations"]
    assert [c["LaunchConfigurationName"] for c in configs] == [new_config]
    assert old_config != new_config


def test_blue_green_cutover_create_unhealthy_group_fails_and_deletes_nothing(
    fleet: Fleet,
) -> None:
    add_group(fleet, "web-a", "A")
    instance_refresh.mark_unhealthy(fleet.images["B"])
    new_config = add_group(fleet, "web-b", "B")

    with pytest.raises(GroupUnhealthyError, match="keep serving"):
        BlueGreenCutoverProvider().create(_cutover_props(fleet, "web-b", "B", new_config))

    for group in ("web", "web-a", "web-b"):
        assert groups.describe_group(fleet.autoscaling, group) is not None


def test_blue_green_cutover_delete_keeps_its_group_while_it_is_the_only_one_serving(
    fleet: Fleet,
) -> None:
    # Switching rollout to rolling, renaming the cutover, or replacing it deletes the
    # cutover resource: the group it made serve must stay, with its instances.
    config = add_group(fleet, "web-a", "A")
    cutover.mark_serving(fleet.autoscaling, "web-a", FLEET)
    instances = fleet.describe("web-a")["Instances"]

    BlueGreenCutoverProvider().delete("web-a", _cutover_props(fleet, "web-a", "A", config))

    assert fleet.describe("web-a")["Instances"] == instances
    assert asg_health.DELETIONS == []
    configs = fleet.autoscaling.describe_launch_configurations()["LaunchConfigurations"]
    assert config in [c["LaunchConfigurationName"] for c in configs]


def test_blue_green_cutover_delete_after_replacement_drains_the_old_group(fleet: Fleet) -> None:
    # The replaced cutover's group goes once the new cutover's group serves.
    config_a = add_group(fleet, "web-a", "A")
    cutover.mark_serving(fleet.autoscaling, "web-a", FLEET)
    add_group(fleet, "web-b", "B")
    cutover.mark_serving(fleet.autoscaling, "web-b", FLEET)

    BlueGreenCutoverProvider().delete("web-a", _cutover_props(fleet, "web-a", "A", config_a))

    assert groups.describe_group(fleet.autoscaling, "web-a") is None
    assert asg_health.DELETIONS == [("web-a", False)]  # drained, no ForceDelete
    assert groups.describe_group(fleet.autoscaling, "web-b") is not None


def test_blue_green_cutover_delete_never_touches_another_fleets_group(fleet: Fleet) -> None:
    config = add_group(fleet, "web-a", "A", fleet_tag=f"{FLEET}#other")

    BlueGreenCutoverProvider().delete("web-a", _cutover_props(fleet, "web-a", "A", config))

    assert groups.describe_group(fleet.autoscaling, "web-a") is not None
