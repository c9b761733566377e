"""Who holds the golden instance: two bakes at once take turns; stale notes are taken over."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from moto import mock_aws

from providers.aws import tags
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.waits import Pacing
from tests.conftest import REGION, FakeClock
from tests.moto_ext import faithful_images, latency
from tests.moto_ext.golden import seed_golden_instance

# Virtual seconds per real second: a 30 s stop takes 0.3 s of the test.
SCALE = 100.0


def _scaled_pacing() -> Pacing:
    return Pacing(
        clock=lambda: time.monotonic() * SCALE,
        sleep=lambda s: time.sleep(s / SCALE),
        progress_every_s=1e9,
    )


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(
        ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    )


def test_two_bakes_of_one_instance_at_once_stop_and_start_it_one_at_a_time() -> None:
    model = latency.Latency(stop_s=30.0, start_s=20.0, snapshot_s=60.0, image_s=30.0)
    events: list[tuple[str, str, str]] = []  # (bake, operation, instance state seen)
    lock = threading.Lock()
    with (
        faithful_images.installed(),
        mock_aws(),
        latency.installed(model, lambda: time.monotonic() * SCALE),
    ):
        setup = make_client("ec2", region=REGION)
        instance_id = seed_golden_instance(setup, make_client("kms", region=REGION))
        reader = make_client("ec2", region=REGION)
        results: dict[str, Any] = {}

        def bake(stack: str) -> None:
            ec2 = make_client("ec2", region=REGION)

            def seen(model: Any, **_: Any) -> None:
                if model.name in ("StopInstances", "StartInstances", "CreateImage"):
                    state = _instance(reader, instance_id)["State"]["Name"]
                    with lock:
                        events.append((stack, model.name, state))

            ec2.meta.events.register("before-call.ec2.*", seen)
            req = BakeRequest(instance_id, f"golden-{stack}", f"bake-{stack}", f"bakery/{stack}/g")
            try:
                results[stack] = bake_image(ec2, req, pacing=_scaled_pacing())
            except Exception as exc:
                results[stack] = exc

        threads = [threading.Thread(target=bake, args=(s,)) for s in ("dev", "staging")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert all(not isinstance(r, Exception) for r in results.values()), results
        assert len(results) == 2
        # Each bake's stop .. start is one block: the other never acts in between.
        order = [(stack, op) for stack, op, _ in events]
        first = order[0][0]
        second = "staging" if first == "dev" else "dev"
        ops = ["StopInstances", "CreateImage", "StartInstances"]
        assert order == [(first, op) for op in ops] + [(second, op) for op in ops]
        # Both images are of the stopped instance: consistent.
        assert [s for _, op, s in events if op == "CreateImage"] == ["stopped", "stopped"]
        for info in results.values():
            image = setup.describe_images(ImageIds=[info.image_id])["Images"][0]
            assert image["State"] == "available" and len(info.snapshot_ids) == 3
        instance = _instance(setup, instance_id)
        assert instance["State"]["Name"] == "running"
        assert tags.STOPPED_BY not in tags.to_dict(instance.get("Tags"))


class _Wall:
    """A wall clock that moves with the fake monotonic clock (note expiry in tests)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.base = datetime(2026, 12, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=self.clock.now)


def test_bake_image_waits_out_another_bakes_note_then_takes_it_over_when_stale(
    ec2: Any, fake_clock: FakeClock
) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    now = _Wall(fake_clock)
    until = tags.stamp(now() + timedelta(minutes=10))
    ec2.create_tags(
        Resources=[instance_id],
        Tags=tags.to_list(
            {tags.STOPPED_BY: "bake-other", tags.RESTORE_STATE: "running", tags.HELD_UNTIL: until}
        ),
    )
    lines: list[str] = []
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 0.5)
    started = fake_clock.now

    bake_image(
        ec2,
        BakeRequest(instance_id, "g-1", "bake-1", "b/t/g"),
        pacing=pacing,
        log=lines.append,
        now=now,
    )

    assert any("held by bake bake-other" in line and "waiting" in line for line in lines)
    assert any("taking over the stale stop note of bake bake-other" in line for line in lines)
    assert fake_clock.now - started >= 600  # waited until its held-until, not less
    instance = _instance(ec2, instance_id)
    assert instance["State"]["Name"] == "running"
    assert tags.STOPPED_BY not in tags.to_dict(instance.get("Tags"))


def test_bake_image_note_of_older_bakery_without_held_until_is_taken_over_at_once(
    ec2: Any, fake_clock: FakeClock
) -> None:
    instance_id = seed_golden_instance(ec2, make_client("kms", region=REGION))
    # What a crashed run of the previous Bakery left: stopped, a note without held-until.
    ec2.create_tags(
        Resources=[instance_id],
        Tags=tags.to_list({tags.STOPPED_BY: "bake-0", tags.RESTORE_STATE: "running"}),
    )
    ec2.stop_instances(InstanceIds=[instance_id])
    lines: list[str] = []
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 0.5)

    bake_image(
        ec2, BakeRequest(instance_id, "g-1", "bake-1", "b/t/g"), pacing=pacing, log=lines.append
    )

    assert any("taking over the stale stop note of bake bake-0" in line for line in lines)
    assert _instance(ec2, instance_id)["State"]["Name"] == "running"  # its restore state
