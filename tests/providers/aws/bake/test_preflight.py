"""Pre-flight (providers/aws/bake/preflight.py) under moto: each hazard refused, read-only.

moto models Auto Scaling membership, instance-store types, DisableApiStop, Spot lifecycle
and Mac types; tests/moto_ext/instance_hazards.py adds hibernation and the one-time Spot
stop refusal. Every refusal test also checks that nothing was stopped, tagged or created
and that only read calls were sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.bake.preflight import (
    PreflightReport,
    PreflightRequest,
    plan_line,
    preflight_bake,
    wait_for_pending_volume_snapshots,
)
from providers.aws.errors import (
    InstanceHazardError,
    InstanceHeldError,
    WaitTimeoutError,
)
from providers.aws.waits import Pacing, WaitSpec
from tests.conftest import REGION, FakeClock
from tests.moto_ext import latency
from tests.recording import CallRecorder

BASE_IMAGE = "ami-0abcdef1234567890"
BAKE_ID = "0123456789abcdef"
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
READ_ONLY = ("Describe", "Get", "List")


def _run(ec2: Any, instance_type: str = "t3.micro", **extra: Any) -> str:
    instance = ec2.run_instances(
        ImageId=BASE_IMAGE,
        MinCount=1,
        MaxCount=1,
        InstanceType=instance_type,
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "g"}]}],
        **extra,
    )["Instances"][0]
    return str(instance["InstanceId"])


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(
        ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    )


def _preflight(
    ec2: Any, autoscaling: Any, instance_id: str, consistency: str = "stop", **kw: Any
) -> PreflightReport:
    req = PreflightRequest(instance_id, BAKE_ID, consistency, **kw)
    return preflight_bake(ec2, autoscaling, req, now=lambda: NOW)


def _group_member(ec2: Any, autoscaling: Any) -> str:
    ec2.create_launch_template(
        LaunchTemplateName="golden-lt",
        LaunchTemplateData={"ImageId": BASE_IMAGE, "InstanceType": "t3.micro"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web",
        LaunchTemplate={"LaunchTemplateName": "golden-lt"},
        MinSize=1,
        MaxSize=1,
        AvailabilityZones=[f"{REGION}a"],
    )
    group = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    return str(group["Instances"][0]["InstanceId"])


def _assert_untouched(ec2: Any, instance_id: str, before: dict[str, Any], calls: CallRecorder):
    after = _instance(ec2, instance_id)
    assert after["State"]["Name"] == before["State"]["Name"]
    assert after.get("Tags") == before.get("Tags")
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    sent = [op for op in calls.ops() if not op.startswith(READ_ONLY)]
    assert sent == [], sent


HAZARDS = {
    "auto_scaling_group": ("web", "detach-instances", "enter-standby", "'reboot' or 'live'"),
    "instance_store": ("m5d.large", "75 GB", "'reboot'", "allow_instance_store_loss: true"),
    "stop_protection": ("DisableApiStop", "--no-disable-api-stop"),
    "spot_one_time": ("Spot Instance", "one-time", "'reboot' or 'live'"),
    "spot_persistent": ("Spot Instance", "persistent", "'reboot' or 'live'"),
    "mac": ("mac2.metal", "Dedicated Host scrubs", "'reboot'"),
}


def hazardous_instance(ec2: Any, autoscaling: Any, hazard: str) -> str:
    if hazard == "auto_scaling_group":
        return _group_member(ec2, autoscaling)
    if hazard == "instance_store":
        return _run(ec2, "m5d.large")
    if hazard == "stop_protection":
        return _run(ec2, DisableApiStop=True)
    if hazard.startswith("spot_"):
        spot_type = "one-time" if hazard == "spot_one_time" else "persistent"
        options = {"MarketType": "spot", "SpotOptions": {"SpotInstanceType": spot_type}}
        return _run(ec2, InstanceMarketOptions=options)
    return _run(ec2, "mac2.metal")


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_preflight_stop_hazard_is_one_problem_on_consistency_and_touches_nothing(
    ec2: Any, autoscaling: Any, hazard: str
) -> None:
    instance_id = hazardous_instance(ec2, autoscaling, hazard)
    before = _instance(ec2, instance_id)
    calls = CallRecorder().attach(ec2).attach(autoscaling)

    report = _preflight(ec2, autoscaling, instance_id)

    [problem] = report.problems
    assert isinstance(problem, InstanceHazardError)
    assert problem.field == "consistency" and problem.found == "stop"
    assert instance_id in str(problem)
    for words in HAZARDS[hazard]:
        assert words in str(problem), (words, str(problem))
    _assert_untouched(ec2, instance_id, before, calls)


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_preflight_stop_hazard_with_reboot_or_live_is_no_problem(
    ec2: Any, autoscaling: Any, hazard: str
) -> None:
    instance_id = hazardous_instance(ec2, autoscaling, hazard)

    for consistency in ("reboot", "live"):
        assert _preflight(ec2, autoscaling, instance_id, consistency).problems == ()


def test_preflight_stop_hazards_on_a_stopped_instance_do_not_apply(
    ec2: Any, autoscaling: Any
) -> None:
    instance_id = _run(ec2, "m5d.large")
    ec2.stop_instances(InstanceIds=[instance_id])

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == ()
    assert report.plan == f"will image {instance_id} as it is (stopped; consistency: stop)"


def test_preflight_moto_ext_refuses_stop_of_one_time_spot_like_aws(ec2: Any) -> None:
    """The hazard is real (in the model, as on AWS): StopInstances fails."""
    options = {"MarketType": "spot", "SpotOptions": {"SpotInstanceType": "one-time"}}
    one_time = _run(ec2, InstanceMarketOptions=options)
    persistent = _run(
        ec2,
        InstanceMarketOptions={**options, "SpotOptions": {"SpotInstanceType": "persistent"}},
    )

    with pytest.raises(ClientError, match="UnsupportedOperation"):
        ec2.stop_instances(InstanceIds=[one_time])
    ec2.stop_instances(InstanceIds=[persistent])
    assert _instance(ec2, one_time)["State"]["Name"] == "running"


def test_preflight_instance_store_allowed_loss_is_no_problem(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2, "m5d.large")

    report = _preflight(ec2, autoscaling, instance_id, allow_instance_store_loss=True)

    assert report.problems == ()
    assert report.plan == f"will stop {instance_id} (consistency: stop)"


def test_preflight_group_member_in_standby_is_no_problem(ec2: Any, autoscaling: Any) -> None:
    instance_id = _group_member(ec2, autoscaling)
    autoscaling.enter_standby(
        AutoScalingGroupName="web", InstanceIds=[instance_id], ShouldDecrementDesiredCapacity=True
    )

    assert _preflight(ec2, autoscaling, instance_id).problems == ()


def test_preflight_several_hazards_are_one_problem_each(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2, "m5d.large", DisableApiStop=True)

    report = _preflight(ec2, autoscaling, instance_id)

    assert len(report.problems) == 2
    assert {p.field for p in report.problems} == {"consistency"}


def test_preflight_hibernated_instance_refused_in_every_mode(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2, HibernationOptions={"Configured": True})
    ec2.stop_instances(InstanceIds=[instance_id], Hibernate=True)
    before = _instance(ec2, instance_id)
    assert before["StateReason"]["Code"] == "Client.UserInitiatedHibernate"  # the moto ext
    calls = CallRecorder().attach(ec2).attach(autoscaling)

    for consistency in ("stop", "reboot", "live"):
        [problem] = _preflight(ec2, autoscaling, instance_id, consistency).problems
        assert isinstance(problem, InstanceHazardError) and problem.field == "instance_id"
        assert "hibernated" in str(problem) and "stop it normally" in str(problem)
    _assert_untouched(ec2, instance_id, before, calls)


def test_preflight_hibernation_enabled_running_instance_is_a_note(
    ec2: Any, autoscaling: Any
) -> None:
    instance_id = _run(ec2, HibernationOptions={"Configured": True})

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == ()
    assert any("hibernation enabled" in n for n in report.notes)


def test_preflight_plain_instance_plans_per_mode(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2)

    plans = {m: _preflight(ec2, autoscaling, instance_id, m) for m in ("stop", "reboot", "live")}

    assert all(r.problems == () and r.notes == () for r in plans.values())
    assert plans["stop"].plan == f"will stop {instance_id} (consistency: stop)"
    assert plans["reboot"].plan == f"will reboot {instance_id} (consistency: reboot)"
    assert plans["live"].plan == f"will image {instance_id} while it runs (consistency: live)"


def test_plan_line_stopped_instance_is_imaged_as_it_is() -> None:
    assert plan_line("i-1", "stopped", "reboot") == (
        "will image i-1 as it is (stopped; consistency: reboot)"
    )


def _note(ec2: Any, instance_id: str, holder: str, held_until: str | None) -> None:
    note = {tags.STOPPED_BY: holder, tags.RESTORE_STATE: "running"}
    if held_until is not None:
        note[tags.HELD_UNTIL] = held_until
    ec2.create_tags(Resources=[instance_id], Tags=tags.to_list(note))


def test_preflight_instance_held_by_another_bake_is_refused(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2)
    _note(ec2, instance_id, "feedfacefeedface", tags.stamp(NOW + timedelta(minutes=20)))
    before = _instance(ec2, instance_id)
    calls = CallRecorder().attach(ec2).attach(autoscaling)

    report = _preflight(ec2, autoscaling, instance_id)

    [problem] = report.problems
    assert isinstance(problem, InstanceHeldError) and problem.field == "instance_id"
    assert "held by bake feedfacefeedface" in str(problem)
    assert tags.stamp(NOW + timedelta(minutes=20)) in str(problem)
    _assert_untouched(ec2, instance_id, before, calls)


def test_preflight_expired_note_of_another_bake_is_taken_over(ec2: Any, autoscaling: Any) -> None:
    instance_id = _run(ec2)
    _note(ec2, instance_id, "feedfacefeedface", tags.stamp(NOW - timedelta(seconds=1)))

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == ()
    [note] = report.notes
    assert "stale stop note of bake feedfacefeedface" in note
    assert "will take it over" in note


def test_preflight_note_without_expiry_is_stale_as_create_treats_it(
    ec2: Any, autoscaling: Any
) -> None:
    """An older Bakery's note (no held-until): create takes it over, so check says so."""
    instance_id = _run(ec2)
    _note(ec2, instance_id, "feedfacefeedface", None)

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == ()
    [note] = report.notes
    assert "stale stop note of bake feedfacefeedface" in note and "no expiry" in note


def test_preflight_own_note_is_no_problem(ec2: Any, autoscaling: Any) -> None:
    """A retry of the same bake resumes its own hold."""
    instance_id = _run(ec2)
    _note(ec2, instance_id, BAKE_ID, tags.stamp(NOW + timedelta(minutes=20)))

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == () and report.notes == ()


@pytest.fixture
def slow_snapshots(fake_clock: FakeClock) -> Iterator[FakeClock]:
    with latency.installed(latency.Latency(snapshot_s=600.0), clock=fake_clock):
        yield fake_clock


def test_preflight_pending_snapshots_are_a_note_not_a_problem(
    ec2: Any, autoscaling: Any, slow_snapshots: FakeClock
) -> None:
    instance_id = _run(ec2)
    volume = _instance(ec2, instance_id)["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]

    report = _preflight(ec2, autoscaling, instance_id)

    assert report.problems == ()
    [note] = report.notes
    assert snapshot in note and "waits for them before stopping it" in note
    assert report.pending_snapshot_ids == (snapshot,)


@pytest.fixture
def pending_volume(ec2: Any, slow_snapshots: FakeClock) -> str:
    """A volume of a running instance with one snapshot pending for 600 s."""
    instance_id = _run(ec2)
    volume = str(_instance(ec2, instance_id)["BlockDeviceMappings"][0]["Ebs"]["VolumeId"])
    ec2.create_snapshot(VolumeId=volume)
    return volume


def _pacing(clock: FakeClock) -> Pacing:
    return Pacing(clock=clock, sleep=clock.sleep, rand=lambda: 1.0)


def test_wait_for_pending_volume_snapshots_returns_once_none_is_pending(
    ec2: Any, pending_volume: str, slow_snapshots: FakeClock
) -> None:
    volume, pacing = pending_volume, _pacing(slow_snapshots)
    lines: list[str] = []

    wait_for_pending_volume_snapshots(ec2, [volume], pacing=pacing, log=lines.append)

    assert slow_snapshots.now - 1000.0 >= 600.0  # waited the snapshot out
    assert len(slow_snapshots.sleeps) <= 15  # capped backoff, not a busy poll
    assert "pending" in lines[0] and lines[-1].endswith(f"idle ({slow_snapshots.now - 1000:.0f}s)")


def test_wait_for_pending_volume_snapshots_times_out_naming_the_volumes(
    ec2: Any, pending_volume: str, slow_snapshots: FakeClock
) -> None:
    volume, pacing = pending_volume, _pacing(slow_snapshots)

    with pytest.raises(WaitTimeoutError, match=volume):
        wait_for_pending_volume_snapshots(
            ec2, [volume], pacing=pacing, spec=WaitSpec(60.0, 5.0, 30.0)
        )


def test_bake_stop_step_notes_its_hold_and_waits_for_pending_snapshots_before_stopping(
    ec2: Any, pending_volume: str, slow_snapshots: FakeClock
) -> None:
    """The create side: another snapshot of a volume is waited out before StopInstances,
    and the stop note says until when this bake holds the instance."""
    [instance] = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["BlockDeviceMappings"][0]["Ebs"]["VolumeId"] == pending_volume
    ]
    calls = CallRecorder().attach(ec2)
    stopped_at: list[float] = []
    ec2.meta.events.register(
        "before-call.ec2.StopInstances", lambda **_: stopped_at.append(slow_snapshots.now)
    )
    req = BakeRequest(
        instance_id=instance["InstanceId"], name="golden-b1", bake_id=BAKE_ID, lineage="x/y/z"
    )

    bake_image(ec2, req, pacing=_pacing(slow_snapshots), now=lambda: NOW)

    assert stopped_at and stopped_at[0] - 1000.0 >= 600.0  # after the pending one completed
    [note] = [c["Tags"] for c in calls.of("CreateTags") if c["Resources"] == [req.instance_id]]
    held_until = tags.to_dict(note)[tags.HELD_UNTIL]
    # the bake's own deadlines: snapshot wait 2 h, stop, snapshots started and start 15
    # min each, refused starts retried 30 min (BakeRequest.hold_s)
    hold = timedelta(hours=3, minutes=15)
    assert timedelta(seconds=req.hold_s) == hold
    assert held_until == tags.stamp(NOW + hold)  # from the bake's injected wall clock
    after = _instance(ec2, req.instance_id)
    assert after["State"]["Name"] == "running"
    assert tags.HELD_UNTIL not in tags.to_dict(after.get("Tags"))
