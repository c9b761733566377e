"""Faults during a bake: one at every AWS call, capacity, EC2 stopping the instance, throttling.

The fault matrix injects a ClientError at call k of a bake (each k its own test case),
then runs the same bake again: there must be exactly one AMI, only its snapshots, and
the instance in the state it was found in.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from providers.aws import tags, waits
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.errors import InstanceNotRestoredError, StartRefusedError, WaitFailedError
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import faithful_images
from tests.moto_ext.golden import seed_golden_instance
from tests.recording import CallRecorder, FaultInjector

LINEAGE = "bakery/test/golden"


def _request(instance_id: str) -> BakeRequest:
    return BakeRequest(instance_id, "golden-1", "bake-1", LINEAGE, tags={"team": "platform"})


def _pacing() -> Pacing:
    clock = FakeClock()
    return Pacing(clock=clock, sleep=clock.sleep, rand=lambda: 0.5)


@pytest.fixture
def pacing() -> Pacing:
    return _pacing()


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(
        ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    )


@functools.cache
def _baseline_calls() -> tuple[str, ...]:
    """The AWS calls of one undisturbed bake, in order (the matrix's cases)."""
    with faithful_images.installed(), mock_aws():
        ec2 = make_client("ec2", region=REGION)
        instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
        calls = CallRecorder().attach(ec2)
        bake_image(ec2, _request(instance_id), pacing=_pacing())
        return tuple(calls.ops())


_CASES = list(enumerate(_baseline_calls()))


@pytest.mark.parametrize(("fail_at", "operation"), _CASES, ids=[f"{k}-{op}" for k, op in _CASES])
def test_bake_image_fault_at_call_then_retry_leaves_one_image_and_instance_as_found(
    fail_at: int, operation: str
) -> None:
    with faithful_images.installed(), mock_aws():
        ec2 = make_client("ec2", region=REGION)
        instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
        injector = FaultInjector(fail_at).attach(ec2)

        try:
            bake_image(ec2, _request(instance_id), pacing=_pacing())
        except Exception as exc:
            assert injector.failed_op == operation
            assert "injected" in repr(exc) + repr(exc.__cause__)
            if _instance(ec2, instance_id)["State"]["Name"] != "running":
                # Only a fault in the restore itself may leave it down, and then loudly.
                assert isinstance(exc, InstanceNotRestoredError)
                assert "start-instances" in str(exc)
        else:  # a look whose failure a later look makes up for (a wait, a state read)
            assert operation.startswith("Describe"), operation

        retry = make_client("ec2", region=REGION)
        info = bake_image(retry, _request(instance_id), pacing=_pacing())

        images = retry.describe_images(Owners=["self"])["Images"]
        assert [i["ImageId"] for i in images] == [info.image_id]
        snapshots = {
            s["SnapshotId"] for s in retry.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        }
        assert snapshots == set(info.snapshot_ids) and len(snapshots) == 3
        instance = _instance(retry, instance_id)
        assert instance["State"]["Name"] == "running"
        assert tags.STOPPED_BY not in tags.to_dict(instance.get("Tags"))


def test_fault_matrix_covers_every_step_of_the_stop_mode() -> None:
    assert {
        "CreateTags",
        "StopInstances",
        "CreateImage",
        "StartInstances",
        "DeleteTags",
        "DescribeInstances",
        "DescribeImages",
        "DescribeSnapshots",
    } <= set(_baseline_calls())


def _refuse_starts(ec2: Any, times: int, code: str) -> list[int]:
    refused: list[int] = []

    def refuse(**_: Any) -> None:
        if len(refused) < times:
            refused.append(1)
            raise ClientError({"Error": {"Code": code, "Message": "no capacity"}}, "StartInstances")

    ec2.meta.events.register("before-call.ec2.StartInstances", refuse)
    return refused


def test_bake_image_insufficient_capacity_on_first_starts_ends_running(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    refused = _refuse_starts(ec2, 3, "InsufficientInstanceCapacity")
    lines: list[str] = []

    bake_image(ec2, _request(instance_id), pacing=pacing, log=lines.append)

    assert len(refused) == 3
    assert sum("no capacity" in line and "retrying" in line for line in lines) == 3
    assert _instance(ec2, instance_id)["State"]["Name"] == "running"


def test_bake_image_capacity_never_comes_back_says_state_and_command(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    _refuse_starts(ec2, 10_000, "InsufficientInstanceCapacity")

    with pytest.raises(InstanceNotRestoredError) as failed:
        bake_image(ec2, _request(instance_id), pacing=pacing)

    message = str(failed.value)
    assert "is stopped" in message and f"start-instances --instance-ids {instance_id}" in message
    assert isinstance(failed.value.__cause__, StartRefusedError)
    # The note stays: the next run reads it to put the instance back.
    note = tags.to_dict(_instance(ec2, instance_id).get("Tags"))
    assert note[tags.STOPPED_BY] == "bake-1" and note[tags.RESTORE_STATE] == "running"


def test_bake_image_pending_then_stopped_fails_naming_state_reason(ec2, pacing) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    started: list[int] = []
    ec2.meta.events.register("before-call.ec2.StartInstances", lambda **_: started.append(1))

    def kms_refused(parsed: dict[str, Any], **_: Any) -> None:
        # What EC2 reports when the volumes' KMS key cannot be used: pending -> stopped.
        if not started:
            return
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["State"] = {"Code": 80, "Name": "stopped"}
                instance["StateReason"] = {
                    "Code": "Client.InternalError",
                    "Message": "Client.InternalError: Client error on launch",
                }

    ec2.meta.events.register("after-call.ec2.DescribeInstances", kms_refused)

    with pytest.raises(InstanceNotRestoredError) as failed:
        bake_image(ec2, _request(instance_id), pacing=pacing)

    assert isinstance(failed.value.__cause__, WaitFailedError)
    assert "Client.InternalError" in str(failed.value)
    assert "start-instances" in str(failed.value)


@pytest.mark.parametrize("operation", ["DescribeInstances", "DescribeImages", "DescribeSnapshots"])
def test_bake_image_throttled_beyond_botocore_inside_waits_does_not_abort(
    ec2, pacing, monkeypatch, operation
) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    in_wait = {"now": False}
    original_probe = waits.Waiter.probe

    def marked_probe(self: waits.Waiter, client: Any, ids: Any) -> Any:
        probe = original_probe(self, client, ids)

        def look() -> Any:
            in_wait["now"] = True
            try:
                return probe()
            finally:
                in_wait["now"] = False

        return look

    monkeypatch.setattr(waits.Waiter, "probe", marked_probe)
    looks = {"n": 0}
    throttled: list[int] = []

    def throttle(**_: Any) -> None:
        # Every other look of a wait fails as if botocore's own attempts had run out.
        if not in_wait["now"]:
            return
        looks["n"] += 1
        if looks["n"] % 2:
            throttled.append(1)
            raise ClientError(
                {"Error": {"Code": "RequestLimitExceeded", "Message": "Request limit exceeded."}},
                operation,
            )

    ec2.meta.events.register(f"before-call.ec2.{operation}", throttle)

    info = bake_image(ec2, _request(instance_id), pacing=pacing)

    assert throttled
    assert info.state == "available"
    assert _instance(ec2, instance_id)["State"]["Name"] == "running"
