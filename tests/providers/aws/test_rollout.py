"""The rollout workflows against moto plus the instance-refresh extension; no test sleeps.

moto has no instance refreshes: tests/moto_ext/instance_refresh.py adds them, with
statuses the test scripts. What AWS is told is asserted on the requests sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from providers.aws import rollout
from providers.aws.clients import make_client
from providers.aws.errors import (
    GroupUnhealthyError,
    RefreshFailedError,
    RefreshTimeoutError,
)
from providers.aws.rollout import RefreshPreferences, TemplateVersion
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


def _sent(client: Any, operation: str) -> list[dict[str, Any]]:
    """Parameters of every ``operation`` call the client sends from now on."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.meta.events.register(f"before-parameter-build.autoscaling.{operation}", record)
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
        found = rollout.describe_group(self.autoscaling, group or self.group)
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


def _fleet(autoscaling: Any, ec2: Any) -> Fleet:
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
        MinSize=4,
        MaxSize=4,
        DesiredCapacity=4,
        VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": rollout.FLEET_TAG, "Value": FLEET, "PropagateAtLaunch": False}],
    )
    return Fleet(autoscaling, ec2, subnet, template, images)


@pytest.fixture
def fleet(refreshes: None, autoscaling: Any, ec2: Any) -> Fleet:
    return _fleet(autoscaling, ec2)


def _roll(fleet: Fleet, version: int, pacing: Pacing, **kwargs: Any) -> rollout.RolloutResult:
    image = "ABC"[version - 1]
    return rollout.roll_out_template(
        fleet.autoscaling,
        fleet.ec2,
        fleet.group,
        fleet.version(version),
        fleet.images[image],
        kwargs.pop("prefs", PREFS),
        pacing=pacing,
        **kwargs,
    )


# --- rolling ---------------------------------------------------------------------------


def test_roll_out_template_new_version_sends_desired_version_and_preferences(
    fleet: Fleet, pacing: Pacing
) -> None:
    starts = _sent(fleet.autoscaling, "StartInstanceRefresh")

    result = _roll(fleet, 2, pacing)

    assert result.status == "Successful" and result.refresh_id
    assert starts == [
        {
            "AutoScalingGroupName": "web",
            "Strategy": "Rolling",
            "DesiredConfiguration": {
                "LaunchTemplate": {"LaunchTemplateId": fleet.template_id, "Version": "2"}
            },
            "Preferences": {
                "MinHealthyPercentage": 50,
                "SkipMatching": True,
                "AutoRollback": True,
                "InstanceWarmup": 120,
                "CheckpointPercentages": [50, 100],
                "CheckpointDelay": 300,
            },
        }
    ]


def test_roll_out_template_success_leaves_every_instance_and_the_group_on_the_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    _roll(fleet, 2, pacing)

    group = fleet.describe()
    assert group["LaunchTemplate"]["Version"] == "2"
    assert {i["LaunchTemplate"]["Version"] for i in group["Instances"]} == {"2"}
    assert fleet.images_running() == [fleet.images["B"]] * 4


def test_roll_out_template_group_already_on_version_starts_no_refresh(
    fleet: Fleet, pacing: Pacing
) -> None:
    starts = _sent(fleet.autoscaling, "StartInstanceRefresh")

    result = _roll(fleet, 1, pacing)

    assert (result.refresh_id, result.status) == ("", "AlreadyCurrent")
    assert result.health is not None and len(result.health.ready) == 4
    assert starts == []


def test_roll_out_template_unhealthy_image_rolls_back_to_previous_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.mark_unhealthy(fleet.images["B"])

    with pytest.raises(RefreshFailedError) as caught:
        _roll(fleet, 2, pacing)

    err = caught.value
    assert err.status == "RollbackSuccessful"
    assert "failed their health checks" in str(err)
    assert "Auto-rollback succeeded" in str(err) and "previous image" in str(err)
    assert "version 2" in str(err) and "web" in str(err)
    # A real rollback: the group is on version 1 and so is every instance.
    assert fleet.describe()["LaunchTemplate"]["Version"] == "1"
    assert fleet.images_running() == [fleet.images["A"]] * 4


def test_wait_for_refresh_failed_without_rollback_says_no_rollback_ran(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh(
        "web", "InProgress", "Failed", reason="Launching a new EC2 instance failed"
    )
    no_rollback = RefreshPreferences(auto_rollback=False)

    with pytest.raises(RefreshFailedError) as caught:
        _roll(fleet, 2, pacing, prefs=no_rollback)

    assert caught.value.status == "Failed"
    assert "Launching a new EC2 instance failed" in str(caught.value)
    assert "No rollback ran" in str(caught.value)
    assert fleet.describe()["LaunchTemplate"]["Version"] == "1"


def test_wait_for_refresh_rollback_failed_warns_the_fleet_may_be_mixed(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh(
        "web",
        "InProgress",
        "RollbackInProgress",
        "RollbackFailed",
        reason="Health checks failed",
        rollback_reason="Rollback could not launch instances",
    )

    with pytest.raises(RefreshFailedError) as caught:
        _roll(fleet, 2, pacing)

    assert caught.value.status == "RollbackFailed"
    message = str(caught.value)
    assert "Auto-rollback FAILED" in message and "mix of old and new" in message
    assert "Rollback could not launch instances" in message


def test_wait_for_refresh_cancelled_by_someone_raises_cancelled(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "InProgress")
    refresh_id = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    fleet.autoscaling.cancel_instance_refresh(AutoScalingGroupName="web")

    with pytest.raises(RefreshFailedError) as caught:
        rollout.wait_for_refresh(
            fleet.autoscaling, "web", refresh_id, fleet.version(2), pacing=pacing
        )

    assert caught.value.status == "Cancelled"
    assert "cancelled" in str(caught.value) and "CancelInstanceRefresh" in str(caught.value)


def test_wait_for_refresh_rollback_requested_restores_previous_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "InProgress")
    refresh_id = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    fleet.autoscaling.describe_instance_refreshes(AutoScalingGroupName="web")  # one batch on B
    assert fleet.images["B"] in fleet.images_running()
    fleet.autoscaling.rollback_instance_refresh(AutoScalingGroupName="web")

    with pytest.raises(RefreshFailedError) as caught:
        rollout.wait_for_refresh(
            fleet.autoscaling, "web", refresh_id, fleet.version(2), pacing=pacing
        )

    assert caught.value.status == "RollbackSuccessful"
    assert fleet.images_running() == [fleet.images["A"]] * 4


def test_wait_for_refresh_past_deadline_raises_timeout_with_progress(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    instance_refresh.script_next_refresh("web", *["InProgress"] * 1000)

    with pytest.raises(RefreshTimeoutError) as caught:
        _roll(fleet, 2, pacing, timeout_s=600)

    err = caught.value
    assert err.status == "InProgress" and err.percentage_complete == 50
    assert 600 <= err.elapsed_s < 700 and sum(fake_clock.sleeps) <= 600
    assert "carries on in AWS" in str(err) and "cancel-instance-refresh" in str(err)


def test_wait_for_refresh_progress_lines_show_percentage_and_instances_to_update(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")
    lines: list[str] = []

    _roll(fleet, 2, pacing, log=lines.append)

    progress = [line for line in lines if ": InProgress" in line]
    assert progress and "50% complete, 2 instance(s) to update" in progress[0]
    # Throttled: one line per state change, not one per poll.
    assert len(progress) == 1
    assert lines[-1].endswith(
        "every instance runs launch template " + fleet.template_id + " version 2"
    )


def test_start_instance_refresh_active_refresh_to_version_is_adopted(
    fleet: Fleet, pacing: Pacing
) -> None:
    # An interrupted run started this refresh; its provider host is gone.
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")
    earlier = fleet.autoscaling.start_instance_refresh(
        AutoScalingGroupName="web",
        DesiredConfiguration={"LaunchTemplate": fleet.version(2).to_api()},
        Preferences={"AutoRollback": True},
    )["InstanceRefreshId"]
    starts = _sent(fleet.autoscaling, "StartInstanceRefresh")

    result = _roll(fleet, 2, pacing)

    assert result.refresh_id == earlier and starts == []
    assert fleet.images_running() == [fleet.images["B"]] * 4


def test_start_instance_refresh_refresh_to_other_version_is_waited_out_first(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")
    superseded = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    lines: list[str] = []

    result = _roll(fleet, 3, pacing, log=lines.append)

    assert result.refresh_id != superseded
    statuses = {
        r["InstanceRefreshId"]: r["Status"]
        for r in rollout.describe_instance_refreshes(fleet.autoscaling, "web")
    }
    assert statuses == {superseded: "Successful", result.refresh_id: "Successful"}
    assert any("to another configuration to end" in line for line in lines)
    assert fleet.images_running() == [fleet.images["C"]] * 4


def test_start_instance_refresh_lost_race_adopts_the_winner(fleet: Fleet, pacing: Pacing) -> None:
    rival = make_client("autoscaling", region=REGION)
    won: list[str] = []

    def rival_starts_first(**_: Any) -> None:
        if not won:
            won.append(
                rival.start_instance_refresh(
                    AutoScalingGroupName="web",
                    DesiredConfiguration={"LaunchTemplate": fleet.version(2).to_api()},
                )["InstanceRefreshId"]
            )

    fleet.autoscaling.meta.events.register(
        "before-call.autoscaling.StartInstanceRefresh", rival_starts_first
    )

    refresh_id = rollout.start_instance_refresh(
        fleet.autoscaling, "web", fleet.version(2), PREFS, pacing=pacing
    )

    assert refresh_id == won[0]
    assert len(rollout.describe_instance_refreshes(fleet.autoscaling, "web")) == 1


def test_roll_out_template_over_http_moto_server_succeeds(fake_clock: FakeClock) -> None:
    with instance_refresh.installed():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            where = {"region": REGION, "endpoint_url": f"http://{host}:{port}"}
            fleet = _fleet(make_client("autoscaling", **where), make_client("ec2", **where))
            pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)
            instance_refresh.script_next_refresh("web", "InProgress", "Successful")

            result = _roll(fleet, 2, pacing)

            assert result.status == "Successful"
            assert fleet.images_running() == [fleet.images["B"]] * 4
        finally:
            server.stop()


# --- blue/green ------------------------------------------------------------------------


def _group(fleet: Fleet, name: str, image: str, *, fleet_tag: str = FLEET) -> str:
    config = f"web-lc-{name}"
    fleet.autoscaling.create_launch_configuration(
        LaunchConfigurationName=config, ImageId=fleet.images[image], InstanceType="t3.micro"
    )
    fleet.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        VPCZoneIdentifier=fleet.subnet,
        LaunchConfigurationName=config,
        Tags=[{"Key": rollout.FLEET_TAG, "Value": fleet_tag, "PropagateAtLaunch": False}],
    )
    return config


def _configurations(fleet: Fleet) -> list[str]:
    found = fleet.autoscaling.describe_launch_configurations()["LaunchConfigurations"]
    return sorted(c["LaunchConfigurationName"] for c in found)


def test_wait_for_group_healthy_capacity_on_image_returns_ready_instances(
    fleet: Fleet, pacing: Pacing
) -> None:
    health = rollout.wait_for_group_healthy(
        fleet.autoscaling, fleet.ec2, "web", fleet.images["A"], pacing=pacing
    )

    assert health.phase == "healthy" and health.desired == 4 and len(health.ready) == 4


def test_wait_for_group_healthy_unhealthy_image_times_out_naming_each_instance(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    instance_refresh.mark_unhealthy(fleet.images["B"])
    _group(fleet, "web-b", "B")

    with pytest.raises(GroupUnhealthyError) as caught:
        rollout.wait_for_group_healthy(
            fleet.autoscaling,
            fleet.ec2,
            "web-b",
            fleet.images["B"],
            pacing=pacing,
            spec=rollout.WAITS["group_healthy"].spec.with_deadline(300),
        )

    err = caught.value
    assert (err.wanted, err.ready, err.status) == (2, 0, "unhealthy")
    assert len(err.problems) == 2 and all("InService/Unhealthy" in p for p in err.problems)
    assert f"running {fleet.images['B']} within 3" in str(err)
    assert 300 <= err.elapsed_s < 400 and sum(fake_clock.sleeps) <= 300


def test_wait_for_group_healthy_wrong_image_is_not_ready(fleet: Fleet, pacing: Pacing) -> None:
    with pytest.raises(GroupUnhealthyError) as caught:
        rollout.wait_for_group_healthy(
            fleet.autoscaling,
            fleet.ec2,
            "web",
            fleet.images["B"],
            pacing=pacing,
            spec=rollout.WAITS["group_healthy"].spec.with_deadline(60),
        )

    assert all(f"runs {fleet.images['A']}" in p for p in caught.value.problems)


def test_wait_for_group_healthy_group_deleted_fails_without_waiting(
    fleet: Fleet, pacing: Pacing, fake_clock: FakeClock
) -> None:
    fleet.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="web", ForceDelete=True)

    with pytest.raises(GroupUnhealthyError) as caught:
        rollout.wait_for_group_healthy(
            fleet.autoscaling, fleet.ec2, "web", fleet.images["A"], pacing=pacing
        )

    assert caught.value.status == "gone" and "is gone" in str(caught.value)
    assert fake_clock.sleeps == []


def test_cut_over_healthy_group_retires_the_fleets_other_groups_and_configurations(
    fleet: Fleet, pacing: Pacing
) -> None:
    old_config = _group(fleet, "web-a", "A")
    new_config = _group(fleet, "web-b", "B")
    _group(fleet, "api-a", "A", fleet_tag="project/stack/api")

    result = rollout.cut_over(
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
    assert old_config not in _configurations(fleet) and new_config in _configurations(fleet)
    tags = {t["Key"]: t["Value"] for t in fleet.describe("web-b")["Tags"]}
    assert tags[rollout.SERVING_TAG] == "true"


def test_cut_over_unhealthy_group_deletes_nothing_and_old_group_keeps_serving(
    fleet: Fleet, pacing: Pacing
) -> None:
    old_config = _group(fleet, "web-a", "A")
    instance_refresh.mark_unhealthy(fleet.images["B"])
    _group(fleet, "web-b", "B")
    serving = fleet.describe("web-a")["Instances"]

    with pytest.raises(GroupUnhealthyError) as caught:
        rollout.cut_over(
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
    assert old_config in _configurations(fleet)


def test_retire_groups_only_not_serving_spares_the_serving_group(
    fleet: Fleet, pacing: Pacing
) -> None:
    _group(fleet, "web-b", "B")
    rollout.mark_serving(fleet.autoscaling, "web-b")
    _group(fleet, "web-c", "C")

    retired = rollout.retire_groups(
        fleet.autoscaling, FLEET, "web", only_not_serving=True, pacing=pacing
    )

    assert retired == ["web-c"]
    assert fleet.describe("web-b")["AutoScalingGroupName"] == "web-b"


def test_delete_group_launch_configuration_goes_after_its_group(
    fleet: Fleet, pacing: Pacing
) -> None:
    config = _group(fleet, "web-a", "A")
    deletes = _sent(fleet.autoscaling, "DeleteLaunchConfiguration")

    rollout.delete_group(fleet.autoscaling, "web-a", launch_configuration=config, pacing=pacing)
    rollout.delete_group(fleet.autoscaling, "web-a", launch_configuration=config, pacing=pacing)

    assert rollout.describe_group(fleet.autoscaling, "web-a") is None
    assert config not in _configurations(fleet) and len(deletes) == 2


def test_check_preferences_bad_values_name_each_field() -> None:
    problems = rollout.check_preferences(
        RefreshPreferences(
            min_healthy_percentage=101,
            instance_warmup_s=-1,
            checkpoint_percentages=(50, 20),
        )
    )

    assert [p.field for p in problems] == [
        "min_healthy_percentage",
        "instance_warmup_s",
        "checkpoint_percentages",
    ]
    assert "0 to 100" in str(problems[0]) and "ending at 100" in str(problems[2])
