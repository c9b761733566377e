"""BakedImageProvider.check runs the pre-flight: hazards fail check, the plan line is said,
unreachable or refused AWS fails fast; ``allow_instance_store_loss`` upgrades cleanly."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws.clients import make_client
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION, closed_endpoint
from tests.moto_ext.golden import seed_golden_instance
from tests.providers.aws.bake.test_preflight import HAZARDS, hazardous_instance
from tests.providers.props import news_builder
from tests.recording import CallRecorder, record_clients, wrap_clients

LINEAGE = "bakery/test/golden"


_news = news_builder(LINEAGE)


@pytest.fixture
def golden(ec2: Any) -> str:
    return seed_golden_instance(ec2, make_client("kms", region=REGION))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    return record_clients(monkeypatch)


def _instance_store_instance(ec2: Any) -> str:
    return str(
        ec2.run_instances(
            ImageId="ami-0abcdef1234567890",
            MinCount=1,
            MaxCount=1,
            InstanceType="m5d.large",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        )["Instances"][0]["InstanceId"]
    )


def test_check_makes_its_reads_after_the_instance_at_once(
    ec2: Any, golden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine checks one resource at a time: one round trip for these, not six.
    together = Counter(
        DescribeImages=2,  # of the bake id (to adopt) and of the name (taken?)
        DescribeAutoScalingInstances=1,
        DescribeInstanceTypes=1,
        DescribeInstanceAttribute=1,
        DescribeSnapshots=1,
    )
    met = threading.Barrier(together.total(), timeout=10)  # broken if they come one by one
    expected, counting = together.copy(), threading.Lock()

    def meet(model: Any, **_: Any) -> None:
        with counting:
            awaited = expected[model.name] > 0
            expected[model.name] -= awaited
        if awaited:
            met.wait()

    def attached(client: Any) -> Any:
        client.meta.events.register("before-call.*", meet)
        return client

    wrap_clients(monkeypatch, attached)

    result = BakedImageProvider().check({}, _news(golden))

    assert not result.failures, result.failures
    assert expected.total() == 0


def test_check_instance_store_with_stop_fails_on_consistency_reading_only(
    ec2: Any, recorded: CallRecorder
) -> None:
    instance_id = _instance_store_instance(ec2)

    result = BakedImageProvider().check({}, _news(instance_id))

    assert [f.property for f in result.failures] == ["consistency"]
    assert "instance-store" in result.failures[0].reason
    assert "allow_instance_store_loss: true" in result.failures[0].reason
    assert all(op.startswith("Describe") for op in recorded.ops()), recorded.ops()
    assert "DescribeInstanceTypes" in recorded.ops()
    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running" and not state.get("Tags")


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_check_each_stop_hazard_fails_check_with_nothing_changed(
    ec2: Any, autoscaling: Any, recorded: CallRecorder, hazard: str
) -> None:
    instance_id = hazardous_instance(ec2, autoscaling, hazard)
    before = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    recorded.calls.clear()

    result = BakedImageProvider().check({}, _news(instance_id))

    [failure] = result.failures
    assert failure.property == "consistency" and instance_id in failure.reason
    assert all(op.startswith("Describe") for op in recorded.ops()), recorded.ops()
    after = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert (after["State"], after.get("Tags")) == (before["State"], before.get("Tags"))
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []


def test_check_instance_store_loss_allowed_passes(ec2: Any) -> None:
    instance_id = _instance_store_instance(ec2)

    result = BakedImageProvider().check({}, _news(instance_id, allow_instance_store_loss=True))

    assert result.failures == []
    assert result.inputs["allow_instance_store_loss"] is True


def test_check_says_what_the_bake_will_do_to_the_instance(
    golden: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = BakedImageProvider()

    provider.check({}, _news(golden))
    stopped = capsys.readouterr().err
    provider.check({}, _news(golden, stop_instance=False))
    live = capsys.readouterr().err
    provider.check({}, _news(golden, consistency="reboot"))
    reboot = capsys.readouterr().err

    assert f"bakery: {LINEAGE}: will stop {golden} (consistency: stop)" in stopped
    assert f"will image {golden} while it runs (consistency: live)" in live
    assert f"will reboot {golden} (consistency: reboot)" in reboot


def test_check_bake_and_preflight_describe_the_instance_once(
    golden: str, recorded: CallRecorder
) -> None:
    result = BakedImageProvider().check({}, _news(golden))

    assert not result.failures
    assert recorded.counts()["DescribeInstances"] == 1, recorded.ops()
    assert "DescribeInstanceTypes" in recorded.ops()  # the preflight ran on that one read


def test_check_nonexistent_instance_describes_it_once(ec2: Any, recorded: CallRecorder) -> None:
    result = BakedImageProvider().check({}, _news("i-0123456789abcdef0"))

    assert [f.property for f in result.failures] == ["instance_id"]
    assert recorded.counts()["DescribeInstances"] == 1, recorded.ops()


def test_check_without_a_bake_says_nothing_and_reads_nothing(
    golden: str, recorded: CallRecorder, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = BakedImageProvider()
    first = provider.check({}, _news(golden)).inputs
    capsys.readouterr()
    recorded.calls.clear()

    provider.check(first, _news(golden))

    assert recorded.ops() == []
    assert "will stop" not in capsys.readouterr().err


def test_check_unreachable_endpoint_fails_with_one_line_naming_endpoint_and_region() -> None:
    endpoint = closed_endpoint()

    result = BakedImageProvider().check({}, _news("i-0123456789abcdef0", endpoint_url=endpoint))

    [failure] = result.failures
    assert failure.property == "endpoint_url"
    assert f"cannot reach AWS at {endpoint} (region {REGION})" in failure.reason
    assert "\n" not in failure.reason
    assert "skipped" not in failure.reason


def test_check_access_refused_fails_naming_the_operation(
    golden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(model: Any, **_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AuthFailure", "Message": "not authorized"}}, model.name
        )

    def refusing(client: Any) -> Any:
        client.meta.events.register_first("before-call.*", refuse)
        return client

    wrap_clients(monkeypatch, refusing)

    [failure] = BakedImageProvider().check({}, _news(golden)).failures

    assert failure.property == "region"
    assert "refused DescribeInstances (AuthFailure)" in failure.reason
    assert f"(region {REGION})" in failure.reason


def test_check_bad_allow_instance_store_loss_names_the_field(golden: str) -> None:
    result = BakedImageProvider().check({}, _news(golden, allow_instance_store_loss="yes"))

    assert [f.property for f in result.failures] == ["allow_instance_store_loss"]


def test_diff_state_written_without_allow_instance_store_loss_is_no_change(golden: str) -> None:
    provider = BakedImageProvider()
    olds = provider.check({}, _news(golden)).inputs
    old_state = {k: v for k, v in olds.items() if k != "allow_instance_store_loss"}

    news = provider.check(old_state, _news(golden)).inputs
    result = provider.diff("ami-1", old_state, news)

    assert news["__bake_id"] == olds["__bake_id"]
    assert result.changes is False and result.replaces == []


def test_diff_allow_instance_store_loss_change_updates_in_place(golden: str) -> None:
    provider = BakedImageProvider()
    olds = provider.check({}, _news(golden)).inputs
    news = provider.check(olds, _news(golden, allow_instance_store_loss=True)).inputs

    result = provider.diff("ami-1", olds, news)

    assert result.changes is True and result.replaces == []
