"""Benchmark: source-instance downtime of a bake, Bakery's order against the naive one.

Latency is simulated on purpose (tests/moto_ext/latency.py) on a virtual clock that
moves only when the workflow sleeps, so a 15-minute bake runs in about a second and
every figure is deterministic for a seed. Both orders run side by side, per seed:

- bakery: stop -> CreateSnapshots -> start at once -> wait snapshots -> register -> wait image
- naive:  stop -> CreateSnapshots -> wait snapshots -> register -> wait image -> start

Downtime is the time the instance is not running in the latency model (from
StopInstances until it is running again), divided by stop + start latency.

    python -m bench.bake_downtime [--seeds 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

from moto import mock_aws

from providers.aws import images, snapshots, source_instance
from providers.aws.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from providers.aws.waits import Pacing
from scripts.seed_golden_instance import seed_golden_instance
from tests.moto_ext import faithful_images, latency

LATENCY = latency.Latency(stop_s=30.0, start_s=20.0, snapshot_s=600.0, image_s=300.0)


class VirtualClock:
    """Seconds that pass only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


class Downtime:
    """Time the instance is not running, from the calls sent and the latency model."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.stopped_at: float | None = None
        self.running_at: float | None = None
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.ec2.*", self._on_call)

    def _on_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "StopInstances" and self.stopped_at is None:
            self.stopped_at = self.clock()
        if model.name == "StartInstances":
            self.running_at = self.clock() + LATENCY.start_s

    @property
    def seconds(self) -> float:
        if self.stopped_at is None or self.running_at is None:
            return 0.0
        return self.running_at - self.stopped_at


def _naive_bake(ec2: Any, req: BakeRequest, pacing: Pacing) -> None:
    """The order most scripts use: restart only after the image is available."""
    source = source_instance.inspect_instance(ec2, req.instance_id)
    source_instance.stop_instance(ec2, source, req.bake_id, restore_state="running", pacing=pacing)
    taken = snapshots.snapshot_volumes(ec2, source, {"bakery:bake-id": req.bake_id}, "naive")
    snapshots.wait_for_snapshots(ec2, taken.values(), pacing=pacing)
    image_id = images.register_image(
        ec2, source, taken, name=req.name, description="", image_tags={}
    )
    images.wait_for_image(ec2, image_id, pacing=pacing)
    source_instance.start_instance(ec2, req.instance_id, pacing=pacing)


def _run(order: str, seed: int) -> tuple[Downtime, VirtualClock]:
    clock = VirtualClock()
    rng = random.Random(seed)
    pacing = Pacing(clock=clock, sleep=clock.sleep, rand=rng.random)
    bake: Callable[[Any, BakeRequest, Pacing], Any] = (
        (lambda ec2, req, p: bake_image(ec2, req, pacing=p)) if order == "bakery" else _naive_bake
    )
    with faithful_images.installed(), mock_aws():
        ec2 = make_client("ec2", region="us-east-1")
        instance_id = seed_golden_instance(ec2, make_client("kms", region="us-east-1"))
        downtime = Downtime(clock)
        downtime.attach(ec2)
        with latency.installed(LATENCY, clock):
            bake(ec2, BakeRequest(instance_id, f"bench-{seed}", f"b{seed}", "bench/x/y"), pacing)
    return downtime, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    floor = LATENCY.stop_s + LATENCY.start_s
    print(
        f"simulated latency: stop {LATENCY.stop_s:.0f}s, start {LATENCY.start_s:.0f}s, "
        f"snapshots {LATENCY.snapshot_s:.0f}s, image {LATENCY.image_s:.0f}s "
        f"(virtual clock, {args.seeds} seeds)"
    )
    results: dict[str, list[float]] = {"bakery": [], "naive": []}
    totals: dict[str, list[float]] = {"bakery": [], "naive": []}
    calls: dict[str, Counter[str]] = {}
    polls: dict[str, int] = {}
    for seed in range(args.seeds):
        for order in ("bakery", "naive"):  # side by side, same seed
            downtime, clock = _run(order, seed)
            results[order].append(downtime.seconds / floor)
            totals[order].append(clock.now)
            if seed == 0:
                calls[order], polls[order] = downtime.calls, clock.sleeps
    print(f"{'order':8} {'downtime/(stop+start)':>22} {'max':>6} {'bake wall (virtual)':>20}")
    for order, ratios in results.items():
        print(
            f"{order:8} {statistics.median(ratios):>22.3f} {max(ratios):>6.3f} "
            f"{statistics.median(totals[order]):>19.0f}s"
        )
    print(
        f"naive / bakery downtime: "
        f"{statistics.median(results['naive']) / statistics.median(results['bakery']):.1f}x"
    )
    for order in ("bakery", "naive"):
        ops = ", ".join(f"{op} {n}" for op, n in sorted(calls[order].items()))
        print(f"{order} API calls per bake (seed 0): {sum(calls[order].values())} = {ops}")
        print(f"{order} re-polls (sleeps) per bake (seed 0): {polls[order]}")
    target = max(results["bakery"])
    print(
        f"target downtime ratio <= 1.10: {'met' if target <= 1.10 else 'MISSED'} (max {target:.3f})"
    )


if __name__ == "__main__":
    main()
