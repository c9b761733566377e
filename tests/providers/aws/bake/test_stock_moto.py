"""The whole bake against stock moto (no tests/moto_ext extension): LocalStack's EC2.

moto refuses CreateImage's ``snapshot`` tag specification (NotImplementedError in
process, an HTML HTTP 500 from its server); the bake sends CreateImage once more
without it and tags the snapshots with CreateTags as soon as the image lists them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.images.amis import create_image_tagged
from providers.aws.waits import Pacing
from scripts.seed_golden_instance import seed_golden_instance
from tests.conftest import REGION, FakeClock
from tests.moto_ext import faithful_images, image_lifecycle, instance_hazards
from tests.recording import CallRecorder

_SESSION_EXTENSIONS = (faithful_images, instance_hazards, image_lifecycle)


@pytest.fixture
def unpatched() -> Iterator[None]:
    """moto as released, even while the session's moto server keeps the extensions on."""
    patched = faithful_images._depth > 0  # the session fixture installs all three
    if patched:
        for extension in _SESSION_EXTENSIONS:
            extension.uninstall()
    try:
        yield
    finally:
        if patched:
            for extension in _SESSION_EXTENSIONS:
                extension.install()


@pytest.fixture(params=["in-process", "server"])
def stock(request: pytest.FixtureRequest, unpatched: None) -> Iterator[tuple[Any, Any]]:
    """(ec2, kms) of stock moto: in-process, then its HTTP server; no extension."""
    if request.param == "in-process":
        with mock_aws():
            yield make_client("ec2", region=REGION), make_client("kms", region=REGION)
        return
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()  # the server shares this process's backends
    try:
        yield (
            make_client("ec2", region=REGION, endpoint_url=url),
            make_client("kms", region=REGION, endpoint_url=url),
        )
    finally:
        server.stop()


def _request(instance_id: str, **overrides: Any) -> BakeRequest:
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "name": "golden-stock",
        "bake_id": "bake-stock",
        "lineage": "bakery/test/stock",
        "tags": {"team": "platform"},
    }
    return BakeRequest(**{**fields, **overrides})


@pytest.mark.parametrize("consistency", ["stop", "live"])
def test_bake_stock_moto_snapshot_tags_refused_retries_and_tags_snapshots(
    stock: tuple[Any, Any], fake_clock: FakeClock, consistency: str
) -> None:
    ec2, kms = stock
    golden = seed_golden_instance(ec2, kms)
    calls = CallRecorder()
    calls.attach(ec2)
    lines: list[str] = []
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)

    info = bake_image(
        ec2, _request(golden, consistency=consistency), pacing=pacing, log=lines.append
    )

    assert info.snapshot_ids
    for snapshot in ec2.describe_snapshots(SnapshotIds=list(info.snapshot_ids))["Snapshots"]:
        snap_tags = tags.to_dict(snapshot.get("Tags"))
        assert snap_tags[tags.BAKE_ID] == "bake-stock"
        assert snap_tags[tags.LINEAGE] == "bakery/test/stock"
        assert snap_tags["team"] == "platform"
    image = ec2.describe_images(ImageIds=[info.image_id])["Images"][0]
    assert tags.to_dict(image["Tags"])[tags.BAKE_ID] == "bake-stock"
    said = [line for line in lines if "cannot tag snapshots at CreateImage" in line]
    assert len(said) == 1, lines
    assert calls.counts()["CreateImage"] == 2  # once refused, once without the spec
    assert _stock_create_image()
    state = ec2.describe_instances(InstanceIds=[golden])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"
    assert tags.STOPPED_BY not in tags.to_dict(state.get("Tags"))


def test_create_image_tagged_other_errors_are_not_retried(unpatched: None) -> None:
    with mock_aws():
        ec2 = make_client("ec2", region=REGION)
        calls = CallRecorder()
        calls.attach(ec2)
        with pytest.raises(Exception, match="InvalidInstanceID"):
            create_image_tagged(
                ec2,
                "i-0123456789abcdef0",
                name="golden-x",
                description="",
                no_reboot=True,
                image_tags={"a": "1"},
                snapshot_tags={"a": "1"},
            )
        assert calls.counts()["CreateImage"] == 1


def _stock_create_image() -> bool:
    from moto.ec2.responses.amis import AmisResponse

    return AmisResponse.create_image is faithful_images._original_create
