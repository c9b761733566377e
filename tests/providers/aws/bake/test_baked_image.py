"""The bake workflow against moto: in-process and over HTTP (ThreadedMotoServer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import pytest
from moto import mock_aws

from providers.aws import tags
from providers.aws.bake.baked_image import (
    BakeRequest,
    bake_image,
    check_bake,
    find_instance,
)
from providers.aws.clients import make_client
from providers.aws.errors import (
    ImageNameTakenError,
    InstanceNotRestoredError,
    InstanceUnsuitableError,
    WaitTimeoutError,
)
from providers.aws.rules.bake_plan import bake_id_for
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import faithful_images
from tests.moto_ext.golden import seed_golden_instance
from tests.recording import Call, CallRecorder, Throttler

LINEAGE = "bakery/test/golden"


def _request(instance_id: str, bake: str = "bake-1", **overrides: Any) -> BakeRequest:
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "name": f"golden-{bake}",
        "bake_id": bake,
        "lineage": LINEAGE,
        "tags": {"team": "platform", "env": "test"},
    }
    fields.update(overrides)
    return BakeRequest(**fields)


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)


@pytest.fixture(params=["in-process", "server"])
def clients(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """(ec2, kms) against moto in-process, then against a moto HTTP server."""
    if request.param == "in-process":
        with faithful_images.installed(), mock_aws():
            yield make_client("ec2", region=REGION), make_client("kms", region=REGION)
    else:
        url = request.getfixturevalue("moto_endpoint")
        yield (
            make_client("ec2", region=REGION, endpoint_url=url),
            make_client("kms", region=REGION, endpoint_url=url),
        )


def _state(ec2: Any, instance_id: str) -> str:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return str(instance["State"]["Name"])


def _instance_tags(ec2: Any, instance_id: str) -> dict[str, str]:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return tags.to_dict(instance.get("Tags"))


def _lineage_images(ec2: Any) -> list[dict[str, Any]]:
    return list(
        ec2.describe_images(
            Owners=["self"], Filters=[{"Name": f"tag:{tags.LINEAGE}", "Values": [LINEAGE]}]
        )["Images"]
    )


def _all_snapshot_ids(ec2: Any) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def test_bake_image_create_image_tags_both_and_mappings_mirror_volumes(clients, pacing) -> None:
    ec2, kms = clients
    instance_id = seed_golden_instance(ec2, kms)
    calls = CallRecorder().attach(ec2)

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    (sent,) = calls.of("CreateImage")
    assert "RegisterImage" not in calls.ops() and "CreateSnapshots" not in calls.ops()
    assert sent["InstanceId"] == instance_id and sent["Name"] == "golden-bake-1"
    assert sent["NoReboot"] is True
    specs = {s["ResourceType"]: tags.to_dict(s["Tags"]) for s in sent["TagSpecifications"]}
    assert set(specs) == {"image", "snapshot"}
    for found in specs.values():
        assert found[tags.BAKE_ID] == "bake-1" and found["team"] == "platform"
        assert found[tags.LINEAGE] == LINEAGE and found[tags.SOURCE_INSTANCE] == instance_id
    image = ec2.describe_images(ImageIds=[info.image_id])["Images"][0]
    snapshots = {
        s["SnapshotId"]: s
        for s in ec2.describe_snapshots(SnapshotIds=list(info.snapshot_ids))["Snapshots"]
    }
    volumes = {
        v["Attachments"][0]["Device"]: v
        for v in ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
        )["Volumes"]
    }
    mappings = {m["DeviceName"]: m["Ebs"] for m in image["BlockDeviceMappings"]}
    assert sorted(mappings) == ["/dev/sda1", "/dev/sdf", "/dev/sdg"]
    for device, ebs in mappings.items():
        assert snapshots[ebs["SnapshotId"]]["VolumeId"] == volumes[device]["VolumeId"]
        assert ebs["VolumeSize"] == volumes[device]["Size"]
    assert mappings["/dev/sdg"]["Iops"] == 6000 and mappings["/dev/sdg"]["Throughput"] == 500
    assert snapshots[mappings["/dev/sdf"]["SnapshotId"]]["Encrypted"] is True
    assert set(info.snapshot_ids) == {e["SnapshotId"] for e in mappings.values()}
    assert info.root_device_name == "/dev/sda1"
    assert info.source_instance_id == instance_id


def test_bake_image_tags_every_artifact_with_user_tags_and_bake_id(clients, pacing) -> None:
    ec2, kms = clients
    instance_id = seed_golden_instance(ec2, kms)

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    image = ec2.describe_images(ImageIds=[info.image_id])["Images"][0]
    resources = [image, *ec2.describe_snapshots(SnapshotIds=list(info.snapshot_ids))["Snapshots"]]
    assert len(resources) == 4
    for resource in resources:
        found = tags.to_dict(resource["Tags"])
        assert found["team"] == "platform" and found["env"] == "test"
        assert found[tags.BAKE_ID] == "bake-1"
        assert found[tags.LINEAGE] == LINEAGE
    assert _all_snapshot_ids(ec2) == set(info.snapshot_ids)


def test_bake_image_stopped_instance_stays_stopped(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    ec2.stop_instances(InstanceIds=[instance_id])
    calls = CallRecorder().attach(ec2)

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    assert "StopInstances" not in calls.ops() and "StartInstances" not in calls.ops()
    assert _state(ec2, instance_id) == "stopped"
    assert info.downtime_seconds == 0.0


def test_bake_image_stop_takes_the_state_from_the_holds_read_back(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    calls = CallRecorder().attach(ec2)

    bake_image(ec2, _request(instance_id), pacing=pacing)

    ops = calls.ops()
    noted = next(i for i, call in enumerate(calls.calls) if _writes_note(call))
    between = ops[noted + 1 : ops.index("StopInstances")]
    assert between.count("DescribeInstances") == 1  # the read-back, and nothing after it


def _writes_note(call: Call) -> bool:
    return call.operation == "CreateTags" and tags.STOPPED_BY in tags.to_dict(
        call.params.get("Tags")
    )


def test_bake_image_live_images_running_instance(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    calls = CallRecorder().attach(ec2)

    bake_image(ec2, _request(instance_id, consistency="live"), pacing=pacing)

    assert "StopInstances" not in calls.ops()
    assert calls.of("CreateImage")[0]["InstanceId"] == instance_id
    assert _state(ec2, instance_id) == "running"


def test_bake_image_restore_state_false_leaves_instance_stopped(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))

    bake_image(ec2, _request(instance_id, restore_state=False), pacing=pacing)

    assert _state(ec2, instance_id) == "stopped"
    assert tags.STOPPED_BY not in _instance_tags(ec2, instance_id)


def test_bake_image_throttled_third_of_calls_succeeds(ec2, pacing, monkeypatch) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", slept.append)
    throttler = Throttler(every=3).attach(ec2)

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    assert throttler.throttled >= 8
    assert len(slept) == throttler.throttled  # botocore's standard retry backed off each time
    assert _state(ec2, instance_id) == "running"
    assert [i["ImageId"] for i in _lineage_images(ec2)] == [info.image_id]


def test_bake_image_unknown_instance_raises_before_any_change(ec2, pacing) -> None:
    calls = CallRecorder().attach(ec2)

    with pytest.raises(InstanceUnsuitableError, match=r"instance_id.*no such instance"):
        bake_image(ec2, _request("i-0123456789abcdef0"), pacing=pacing)

    assert set(calls.ops()) <= {"DescribeInstances"}


def test_bake_image_terminated_instance_raises_before_any_change(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    ec2.terminate_instances(InstanceIds=[instance_id])
    calls = CallRecorder().attach(ec2)

    with pytest.raises(InstanceUnsuitableError, match="terminated"):
        bake_image(ec2, _request(instance_id), pacing=pacing)

    assert not [op for op in calls.ops() if not op.startswith("Describe")]


def test_bake_image_instance_store_root_raises_before_any_change(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))

    def instance_store(parsed: dict[str, Any], **_: Any) -> None:
        # moto only makes EBS-backed instances; AWS reports instance-store roots so.
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["RootDeviceType"] = "instance-store"

    ec2.meta.events.register("after-call.ec2.DescribeInstances", instance_store)
    calls = CallRecorder().attach(ec2)

    with pytest.raises(InstanceUnsuitableError, match="instance-store"):
        bake_image(ec2, _request(instance_id), pacing=pacing)

    assert not [op for op in calls.ops() if not op.startswith("Describe")]
    assert _state(ec2, instance_id) == "running"


def test_bake_image_name_taken_by_other_image_raises_before_any_change(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    other = ec2.register_image(Name="golden-bake-1", RootDeviceName="/dev/sda1")["ImageId"]
    calls = CallRecorder().attach(ec2)

    with pytest.raises(ImageNameTakenError, match=other):
        bake_image(ec2, _request(instance_id), pacing=pacing)

    assert not [op for op in calls.ops() if not op.startswith("Describe")]
    assert _state(ec2, instance_id) == "running"
    found = find_instance(ec2, instance_id)
    assert check_bake(ec2, _request(instance_id), instance=found)[0].field == "name"


def test_bake_image_after_crash_with_instance_stopped_restores_running(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    # What a run killed between StopInstances and StartInstances leaves behind.
    ec2.create_tags(
        Resources=[instance_id],
        Tags=tags.to_list({tags.STOPPED_BY: "bake-0", tags.RESTORE_STATE: "running"}),
    )
    ec2.stop_instances(InstanceIds=[instance_id])

    bake_image(ec2, _request(instance_id), pacing=pacing)

    assert _state(ec2, instance_id) == "running"
    assert tags.STOPPED_BY not in _instance_tags(ec2, instance_id)


def test_bake_image_adopts_image_of_same_bake_without_stopping(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    req = _request(instance_id)

    def die(**_: Any) -> None:
        raise RuntimeError("killed while the image is pending")

    ec2.meta.events.register("before-call.ec2.StartInstances", die)
    with pytest.raises(InstanceNotRestoredError, match="is stopped"):
        bake_image(ec2, req, pacing=pacing)
    ec2.meta.events.unregister("before-call.ec2.StartInstances", die)
    calls = CallRecorder().attach(ec2)

    info = bake_image(ec2, req, pacing=pacing)

    assert "StopInstances" not in calls.ops() and "CreateImage" not in calls.ops()
    assert _all_snapshot_ids(ec2) == set(info.snapshot_ids)
    assert _state(ec2, instance_id) == "running"


def test_bake_image_image_wait_times_out_with_progress_and_restored_instance(
    ec2, pacing, monkeypatch
) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))

    def pending(parsed: dict[str, Any], **_: Any) -> None:
        for image in parsed.get("Images", []):
            image["State"] = "pending"
        for snap in parsed.get("Snapshots", []):
            snap["State"], snap["Progress"] = "pending", "40%"

    ec2.meta.events.register("after-call.ec2.DescribeImages", pending)
    ec2.meta.events.register("after-call.ec2.DescribeSnapshots", pending)
    timeouts = {"snapshots": 5, "image": 5}

    with pytest.raises(WaitTimeoutError, match=r"image ami-\w+ .* pending, snapshots 40%"):
        bake_image(ec2, _request(instance_id, timeouts_min=timeouts), pacing=pacing)

    assert _state(ec2, instance_id) == "running"


def test_check_bake_reports_every_problem_without_changes(ec2) -> None:
    calls = CallRecorder().attach(ec2)

    missing = "i-0123456789abcdef0"
    problems = check_bake(ec2, _request(missing), instance=find_instance(ec2, missing))

    assert [p.field for p in problems] == ["instance_id"]
    assert all(op.startswith("Describe") for op in calls.ops())


def test_bake_id_for_same_inputs_is_stable_and_history_matters() -> None:
    inputs = {"instance_id": "i-1", "triggers": ["a"]}
    assert bake_id_for(LINEAGE, inputs, None) == bake_id_for(LINEAGE, dict(inputs), None)
    assert bake_id_for(LINEAGE, inputs, "old") != bake_id_for(LINEAGE, inputs, None)
    assert bake_id_for(LINEAGE, {**inputs, "triggers": ["b"]}, None) != bake_id_for(
        LINEAGE, inputs, None
    )


def test_bake_image_new_bake_discards_abandoned_partial_snapshots(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    abandoned = ec2.create_snapshots(
        InstanceSpecification={"InstanceId": instance_id},
        TagSpecifications=tags.spec("snapshot", {tags.BAKE_ID: "bake-old", tags.LINEAGE: LINEAGE}),
    )["Snapshots"]

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    assert not {s["SnapshotId"] for s in abandoned} & _all_snapshot_ids(ec2)
    assert _all_snapshot_ids(ec2) == set(info.snapshot_ids)


def test_bake_image_adopting_image_deletes_racing_runs_stray_snapshot_set(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    first = bake_image(ec2, _request(instance_id), pacing=pacing)
    # A second run of the same bake that snapshotted too before losing the race.
    stray = ec2.create_snapshots(
        InstanceSpecification={"InstanceId": instance_id},
        TagSpecifications=tags.spec("snapshot", {tags.BAKE_ID: "bake-1", tags.LINEAGE: LINEAGE}),
    )["Snapshots"]

    again = bake_image(ec2, _request(instance_id), pacing=pacing)

    assert again.image_id == first.image_id
    assert _all_snapshot_ids(ec2) == set(first.snapshot_ids)
    assert not {s["SnapshotId"] for s in stray} & _all_snapshot_ids(ec2)
