"""The lifecycle workflow against moto: copies adopt on retry; snapshot tags; requests."""

from __future__ import annotations

from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.images.lifecycle import CopyRequest, Sharing, copy_image, set_sharing
from tests.conftest import REGION, plain_image
from tests.recording import CallRecorder

COPY_REGION = "eu-west-1"


def test_copy_image_retry_adopts_the_copy_an_earlier_run_made(ec2, fake_clock) -> None:
    from providers.aws.waits import Pacing

    source = plain_image(ec2)
    remote = make_client("ec2", region=COPY_REGION)
    calls = CallRecorder().attach(remote)
    req = CopyRequest(
        source_image_id=source,
        source_region=REGION,
        name="golden",
        description="d",
        bake_id="bake-1",
        image_tags={tags.LINEAGE: "l"},
    )
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)

    first = copy_image(remote, req, pacing=pacing)
    again = copy_image(remote, req, pacing=pacing)

    assert first == again
    assert len(calls.of("CopyImage")) == 1
    assert calls.of("CopyImage")[0]["TagSpecifications"][0]["ResourceType"] == "image"
    assert "Encrypted" not in calls.of("CopyImage")[0]


def test_set_sharing_unchanged_sends_nothing(ec2) -> None:
    image_id = plain_image(ec2)
    calls = CallRecorder().attach(ec2)
    shared = Sharing(accounts=("111122223333",))

    set_sharing(ec2, image_id, [], shared, shared)

    assert calls.calls == []
