"""The instance-refresh workflow against moto plus the instance-refresh extension.

What AWS is told is asserted on the requests sent; no test sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from providers.aws.clients import make_client
from providers.aws.errors import RefreshFailedError
from providers.aws.fleet import instance_refresh as rollout
from providers.aws.rules.rollout import RefreshPreferences
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import instance_refresh
from tests.providers.aws.conftest import PREFS, Fleet, make_fleet, roll, sent

# --- rolling ---------------------------------------------------------------------------


def test_roll_out_template_new_version_sends_desired_version_and_preferences(
    fleet: Fleet, pacing: Pacing
) -> None:
    starts = sent(fleet.autoscaling, "StartInstanceRefresh")

    result = roll(fleet, 2, pacing)

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
                # pulumi-aws's defaults, not the API's Wait (an hour, then Failed).
                "StandbyInstances": "Ignore",
                "ScaleInProtectedInstances": "Ignore",
                "InstanceWarmup": 120,
                "CheckpointPercentages": [50, 100],
                "CheckpointDelay": 300,
            },
        }
    ]


def test_roll_out_template_success_leaves_every_instance_and_the_group_on_the_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    roll(fleet, 2, pacing)

    group = fleet.describe()
    assert group["LaunchTemplate"]["Version"] == "2"
    assert {i["LaunchTemplate"]["Version"] for i in group["Instances"]} == {"2"}
    assert fleet.images_running() == [fleet.images["B"]] * 4


def test_roll_out_template_group_already_on_version_starts_no_refresh(
    fleet: Fleet, pacing: Pacing
) -> None:
    starts = sent(fleet.autoscaling, "StartInstanceRefresh")

    result = roll(fleet, 1, pacing)

    assert (result.refresh_id, result.status) == ("", "AlreadyCurrent")
    assert result.health is not None and len(result.health.ready) == 4
    assert starts == []


def test_roll_out_template_unhealthy_image_rolls_back_to_previous_version(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.mark_unhealthy(fleet.images["B"])

    with pytest.raises(RefreshFailedError) as caught:
        roll(fleet, 2, pacing)

    err = caught.value
    assert err.status == "RollbackSuccessful"
    assert "failed their health checks" in str(err)
    assert "Auto-rollback succeeded" in str(err) and "previous image" in str(err)
    assert "version 2" in str(err) and "web" in str(err)
    # A real rollback: the group is on version 1 and so is every instance.
    assert fleet.describe()["LaunchTemplate"]["Version"] == "1"
    assert fleet.images_running() == [fleet.images["A"]] * 4


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
    starts = sent(fleet.autoscaling, "StartInstanceRefresh")

    result = roll(fleet, 2, pacing)

    assert result.refresh_id == earlier and starts == []
    assert fleet.images_running() == [fleet.images["B"]] * 4


def test_start_instance_refresh_refresh_to_other_version_is_waited_out_first(
    fleet: Fleet, pacing: Pacing
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")
    superseded = rollout.start_instance_refresh(fleet.autoscaling, "web", fleet.version(2), PREFS)
    lines: list[str] = []

    result = roll(fleet, 3, pacing, log=lines.append)

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


def test_describe_instance_refreshes_more_than_a_page_follows_next_token(aws: None) -> None:
    # botocore has no paginator model for this operation; Stubber checks ours pages it.
    autoscaling = make_client("autoscaling", region=REGION)
    refresh = {"AutoScalingGroupName": "web", "Status": "Successful"}
    with Stubber(autoscaling) as stub:
        stub.add_response(
            "describe_instance_refreshes",
            {"InstanceRefreshes": [{**refresh, "InstanceRefreshId": "r-2"}], "NextToken": "t"},
            {"AutoScalingGroupName": "web"},
        )
        stub.add_response(
            "describe_instance_refreshes",
            {"InstanceRefreshes": [{**refresh, "InstanceRefreshId": "r-1"}]},
            {"AutoScalingGroupName": "web", "NextToken": "t"},
        )

        found = rollout.describe_instance_refreshes(autoscaling, "web")

        stub.assert_no_pending_responses()
    assert [r["InstanceRefreshId"] for r in found] == ["r-2", "r-1"]


def test_roll_out_template_over_http_moto_server_succeeds(fake_clock: FakeClock) -> None:
    with instance_refresh.installed():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            where = {"region": REGION, "endpoint_url": f"http://{host}:{port}"}
            fleet = make_fleet(make_client("autoscaling", **where), make_client("ec2", **where))
            pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)
            instance_refresh.script_next_refresh("web", "InProgress", "Successful")

            result = roll(fleet, 2, pacing)

            assert result.status == "Successful"
            assert fleet.images_running() == [fleet.images["B"]] * 4
        finally:
            server.stop()


# --- what AWS documents, on the extension's model ------------------------------------


def _small(autoscaling: Any, ec2: Any, size: int, max_size: int) -> Fleet:
    return make_fleet(autoscaling, ec2, size=size, max_size=max_size)


def test_roll_out_template_one_instance_launches_before_terminating(
    refreshes: None, autoscaling: Any, ec2: Any, pacing: Pacing
) -> None:
    fleet = _small(autoscaling, ec2, 1, 2)
    starts = sent(autoscaling, "StartInstanceRefresh")

    roll(fleet, 2, pacing, prefs=RefreshPreferences())

    assert starts[0]["Preferences"]["MaxHealthyPercentage"] == 200
    assert starts[0]["Preferences"]["MinHealthyPercentage"] == 100
    seen = instance_refresh.capacity_seen("web")
    assert seen and min(seen) >= 1  # never zero InService
    assert fleet.images_running() == [fleet.images["B"]]


def test_roll_out_template_aws_default_max_100_takes_one_instance_to_zero(
    refreshes: None, autoscaling: Any, ec2: Any, pacing: Pacing
) -> None:
    # The outage Bakery's default avoids, modelled as AWS documents it.
    fleet = _small(autoscaling, ec2, 1, 2)

    roll(fleet, 2, pacing, prefs=RefreshPreferences(max_healthy_percentage=100))

    assert 0 in instance_refresh.capacity_seen("web")


def test_roll_out_template_four_at_90_percent_never_below_the_rounded_up_minimum(
    refreshes: None, autoscaling: Any, ec2: Any, pacing: Pacing
) -> None:
    fleet = _small(autoscaling, ec2, 4, 5)

    roll(fleet, 2, pacing, prefs=RefreshPreferences())

    # AWS rounds 4 x 90 % = 3.6 up to 4.
    assert min(instance_refresh.capacity_seen("web")) >= 4
    assert fleet.images_running() == [fleet.images["B"]] * 4


def test_roll_out_template_standby_and_protected_instances_with_defaults_complete(
    fleet: Fleet, pacing: Pacing
) -> None:
    ids = [i["InstanceId"] for i in fleet.describe()["Instances"]]
    fleet.autoscaling.enter_standby(
        AutoScalingGroupName="web", InstanceIds=ids[:1], ShouldDecrementDesiredCapacity=False
    )
    fleet.autoscaling.set_instance_protection(
        AutoScalingGroupName="web", InstanceIds=ids[1:2], ProtectedFromScaleIn=True
    )

    result = roll(fleet, 2, pacing, prefs=RefreshPreferences())

    assert result.status == "Successful"


def test_roll_out_template_standby_instance_with_wait_fails_saying_why(
    fleet: Fleet, pacing: Pacing
) -> None:
    ids = [i["InstanceId"] for i in fleet.describe()["Instances"]]
    fleet.autoscaling.enter_standby(
        AutoScalingGroupName="web", InstanceIds=ids[:1], ShouldDecrementDesiredCapacity=False
    )

    with pytest.raises(RefreshFailedError, match="StandbyInstances"):
        roll(fleet, 2, pacing, prefs=RefreshPreferences(standby_instances="Wait"))


def test_roll_out_template_alarm_in_alarm_rolls_back_and_fails_naming_it(
    fleet: Fleet, pacing: Pacing, cloudwatch: Any
) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="web-5xx",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")
    starts = sent(fleet.autoscaling, "StartInstanceRefresh")

    with pytest.raises(RefreshFailedError) as caught:
        roll(fleet, 2, pacing, prefs=RefreshPreferences(alarm_names=("web-5xx",)))

    assert starts[0]["Preferences"]["AlarmSpecification"] == {"Alarms": ["web-5xx"]}
    assert caught.value.status == "RollbackSuccessful"
    assert "CloudWatch alarm web-5xx is in ALARM state" in str(caught.value)
    assert fleet.images_running() == [fleet.images["A"]] * 4


def test_roll_out_template_checkpoints_wait_their_delay_and_warmup(
    fleet: Fleet, pacing: Pacing
) -> None:
    prefs = RefreshPreferences(
        min_healthy_percentage=50,
        instance_warmup_s=60,
        checkpoint_percentages=(50, 100),
        checkpoint_delay_s=300,
    )

    roll(fleet, 2, pacing, prefs=prefs)

    # Two batches of 2 (50 % of 4), each warming up 60 s, and a 300 s wait at each
    # checkpoint.
    assert instance_refresh.simulated_seconds("web") == 2 * 60 + 2 * 300


def test_roll_out_template_bake_time_passes_through_baking(fleet: Fleet, pacing: Pacing) -> None:
    lines: list[str] = []

    result = roll(fleet, 2, pacing, prefs=RefreshPreferences(bake_time_s=60), log=lines.append)

    assert result.status == "Successful"
    assert any("Baking" in line for line in lines)


def test_start_instance_refresh_checkpoint_delay_alone_is_refused_as_aws_does(
    fleet: Fleet, pacing: Pacing
) -> None:
    with pytest.raises(ClientError, match="CheckpointDelay requires CheckpointPercentages"):
        fleet.autoscaling.start_instance_refresh(
            AutoScalingGroupName="web", Preferences={"CheckpointDelay": 60}
        )
