"""The three consistency modes, call by call, and what CreateImage keeps (billing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.ec2.models import ec2_backends

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.errors import ImageMismatchError
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import faithful_images, latency
from tests.moto_ext.golden import seed_golden_instance
from tests.recording import CallRecorder

LINEAGE = "bakery/test/golden"
ACCOUNT = "123456789012"


@pytest.fixture
def slow_aws(fake_clock: FakeClock) -> Iterator[Any]:
    """moto with CreateImage as AWS does it and transitions that take time (fake clock)."""
    with faithful_images.installed(), mock_aws(), latency.installed(latency.Latency(), fake_clock):
        yield make_client("ec2", region=REGION)


@pytest.fixture
def pacing(fake_clock: FakeClock) -> Pacing:
    return Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 0.5)


def _request(instance_id: str, consistency: str) -> BakeRequest:
    return BakeRequest(instance_id, "golden-1", "bake-1", LINEAGE, consistency=consistency)


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(
        ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    )


def _image_states_seen_at_start(ec2: Any) -> list[str]:
    """The image's state each time StartInstances is sent (read from the same moto)."""
    reader = make_client("ec2", region=REGION)
    seen: list[str] = []

    def at_start(**_: Any) -> None:
        images = reader.describe_images(Owners=["self"])["Images"]
        seen.extend(i["State"] for i in images)

    ec2.meta.events.register("before-call.ec2.StartInstances", at_start)
    return seen


def test_bake_image_stop_mode_starts_instance_while_image_is_pending(slow_aws, pacing) -> None:
    ec2 = slow_aws
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    calls = CallRecorder().attach(ec2)
    seen = _image_states_seen_at_start(ec2)

    info = bake_image(ec2, _request(instance_id, "stop"), pacing=pacing)

    ops = [op for op in calls.ops() if op in ("StopInstances", "CreateImage", "StartInstances")]
    assert ops == ["StopInstances", "CreateImage", "StartInstances"]
    assert calls.of("CreateImage")[0]["NoReboot"] is True
    assert seen == ["pending"]  # started long before the image was available
    assert _instance(ec2, instance_id)["State"]["Name"] == "running"
    # reported downtime: stop (30 s) + start (20 s) of the model, plus the looks' lag
    # (the start's wait looks rarely; bench/bake_downtime.py measures the real outage)
    assert 50.0 <= info.downtime_seconds <= 80.0


@pytest.mark.parametrize(("mode", "no_reboot"), [("reboot", False), ("live", True)])
def test_bake_image_reboot_and_live_never_stop_or_start(slow_aws, pacing, mode, no_reboot) -> None:
    ec2 = slow_aws
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    calls = CallRecorder().attach(ec2)

    info = bake_image(ec2, _request(instance_id, mode), pacing=pacing)

    assert "StopInstances" not in calls.ops() and "StartInstances" not in calls.ops()
    [sent] = calls.of("CreateImage")
    assert sent["NoReboot"] is no_reboot
    assert ec2.describe_images(ImageIds=[info.image_id])["Images"][0]["State"] == "available"
    instance = _instance(ec2, instance_id)
    assert instance["State"]["Name"] == "running"
    assert tags.STOPPED_BY not in tags.to_dict(instance.get("Tags"))


def _windows_instance(ec2: Any) -> str:
    source = faithful_images.windows_source_image(ec2_backends[ACCOUNT][REGION])
    return str(
        ec2.run_instances(
            ImageId=source,
            MinCount=1,
            MaxCount=1,
            InstanceType="m5.large",
            BlockDeviceMappings=[
                {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3"}}
            ],
        )["Instances"][0]["InstanceId"]
    )


def test_bake_image_windows_instance_keeps_billing_boot_mode_and_tpm(ec2, pacing) -> None:
    instance_id = _windows_instance(ec2)
    instance = _instance(ec2, instance_id)
    assert (instance["PlatformDetails"], instance["UsageOperation"]) == (
        "Windows",
        "RunInstances:0002",
    )
    calls = CallRecorder().attach(ec2)

    info = bake_image(ec2, _request(instance_id, "stop"), pacing=pacing)

    assert "CreateImage" in calls.ops() and "RegisterImage" not in calls.ops()
    image = ec2.describe_images(ImageIds=[info.image_id])["Images"][0]
    assert image["PlatformDetails"] == instance["PlatformDetails"]
    assert image["UsageOperation"] == instance["UsageOperation"]
    assert image.get("Platform") == "windows"
    assert image["BootMode"] == "uefi" and image["TpmSupport"] == "v2.0"


def test_bake_image_billing_lost_fails_loudly_and_deregisters(ec2, pacing) -> None:
    instance_id = _windows_instance(ec2)

    def billed_as_linux(parsed: dict[str, Any], **_: Any) -> None:
        for image in parsed.get("Images", []):
            image["PlatformDetails"], image["UsageOperation"] = "Linux/UNIX", "RunInstances"

    ec2.meta.events.register("after-call.ec2.DescribeImages", billed_as_linux)

    with pytest.raises(ImageMismatchError, match=r"Linux/UNIX.*Windows.*deregistered"):
        bake_image(ec2, _request(instance_id, "stop"), pacing=pacing)

    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    assert _instance(ec2, instance_id)["State"]["Name"] == "running"


def test_create_image_in_moto_maps_instance_store_volumes(ec2, pacing) -> None:
    instance_id = str(
        ec2.run_instances(
            ImageId="ami-0abcdef1234567890",
            MinCount=1,
            MaxCount=1,
            InstanceType="m5d.large",
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        )["Instances"][0]["InstanceId"]
    )

    info = bake_image(ec2, _request(instance_id, "reboot"), pacing=pacing)

    image = ec2.describe_images(ImageIds=[info.image_id])["Images"][0]
    virtual = [m for m in image["BlockDeviceMappings"] if "VirtualName" in m]
    assert virtual == [{"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}]
    assert len(info.snapshot_ids) == 1


def _stop_to_start_seconds(ec2: Any, clock: FakeClock) -> list[float]:
    """Seconds from each StopInstances to the next StartInstances (fake clock)."""
    marks: dict[str, float] = {}
    spans: list[float] = []

    def stopping(**_: Any) -> None:
        marks["stop"] = clock.now

    def starting(**_: Any) -> None:
        spans.append(clock.now - marks.pop("stop"))

    ec2.meta.events.register("before-call.ec2.StopInstances", stopping)
    ec2.meta.events.register("before-call.ec2.StartInstances", starting)
    return spans


def test_bake_image_rebake_times_its_stop_looks_from_the_last_bake(
    slow_aws, pacing, fake_clock
) -> None:
    ec2 = slow_aws
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    spans = _stop_to_start_seconds(ec2, fake_clock)

    first = bake_image(ec2, _request(instance_id, "stop"), pacing=pacing)
    again = BakeRequest(instance_id, "golden-2", "bake-2", LINEAGE, consistency="stop")
    second = bake_image(ec2, again, pacing=pacing)

    recorded = {
        t["Key"]: t["Value"]
        for t in ec2.describe_images(ImageIds=[first.image_id])["Images"][0]["Tags"]
    }
    # the model's stop is 30 s: the first bake's last look that saw it stopping, and
    # its start's look that saw it running (the model's start is 20 s)
    assert 26.0 <= float(recorded[tags.STOP_S]) < 30.0
    assert float(recorded[tags.START_S]) >= 20.0
    # StopInstances -> StartInstances: the first bake sees the stop up to a 4 s look
    # late, the re-bake within one 0.5 s step of it
    assert 30.0 <= spans[0] <= 34.0
    assert 30.0 <= spans[1] <= 30.5
    assert second.downtime_seconds < first.downtime_seconds
