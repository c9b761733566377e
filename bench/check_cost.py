"""Benchmark: what one provider host spends before its bake starts, and how long a
bake's check waits for AWS.

A stack with many bakes starts one dynamic-provider host per ``BakedImage``, and the
engine runs their checks one at a time (docs/bake.md, "Many bakes"), so the last bake
starts about N checks after the first (bench/parallel_bakes.py prints that skew). This
measures one host's share in a fresh ``python`` per sample, against a moto server with
a seeded golden instance: the CPU of the import of ``pulumi.dynamic``, of the import of
``providers.baked_image``, of the first ``BakedImageProvider.check`` (clients built, the
instance read) and of a second one in the same process. Then the first check's wall
time against a server that delays every request by ``--round-trip-ms`` (a network,
tests/moto_ext/round_trip.py), beside the same check with no delay: the difference over
the round trip is how many round trips the check waits in sequence.

    python -m bench.check_cost [--samples 5] [--round-trip-ms 50] [--source DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from bench.bytecode import cache_bytecode
from providers.aws.clients import make_client
from tests.e2e.moto_server import MotoServer
from tests.moto_ext.golden import seed_golden_instance

# Run in a fresh interpreter: one host's start-up, then two checks.
SAMPLE = """
import json, os, resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
import time
marks = [cpu()]
import pulumi.dynamic
marks.append(cpu())
from providers.baked_image import BakedImageProvider
marks.append(cpu())
news = {"instance_id": sys.argv[2], "lineage": "bakery/bench/image", "triggers": ["1"],
        "region": "us-east-1", "endpoint_url": sys.argv[1]}
walls = []
for _ in range(2):
    started = time.monotonic()
    result = BakedImageProvider().check({}, news)
    walls.append(time.monotonic() - started)
    assert not result.failures, result.failures
    marks.append(cpu())
print(json.dumps([b - a for a, b in zip(marks, marks[1:])] + walls[:1]))
"""
PARTS = ("import pulumi.dynamic", "import providers.baked_image", "first check", "second check")


def _samples(source: Path, count: int, round_trip_ms: float) -> list[list[float]]:
    """``count`` fresh processes of ``SAMPLE`` against a new server with that delay."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    with MotoServer(round_trip_ms=round_trip_ms) as moto:
        ec2 = make_client("ec2", region="us-east-1", endpoint_url=moto.url)
        kms = make_client("kms", region="us-east-1", endpoint_url=moto.url)
        instance_id = seed_golden_instance(ec2, kms)
        samples = []
        for _ in range(count):
            out = subprocess.run(
                [sys.executable, "-c", SAMPLE, moto.url, instance_id],
                cwd=source,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            samples.append(json.loads(out.strip().splitlines()[-1]))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--round-trip-ms", type=float, default=50.0)
    parser.add_argument("--source", type=Path, default=Path.cwd())
    args = parser.parse_args()
    source = args.source.resolve()
    cache_bytecode(source)  # as a checkout has it from its second run (bench/bytecode.py)
    samples = _samples(source, args.samples, 0.0)
    print(f"one provider host before its bake, CPU s (median of {args.samples} fresh processes)")
    for i, part in enumerate(PARTS):
        print(f"  {part:30} {statistics.median(s[i] for s in samples):5.2f}")
    total = statistics.median(sum(s[:3]) for s in samples)
    print(f"  {'start-up + first check':30} {total:5.2f}")
    local = statistics.median(s[4] for s in samples)
    far = statistics.median(s[4] for s in _samples(source, args.samples, args.round_trip_ms))
    trips = (far - local) / (args.round_trip_ms / 1000)
    print(
        f"first check, wall s: {local:.2f} against the local server, {far:.2f} at "
        f"{args.round_trip_ms:.0f} ms a round trip: {trips:.1f} round trips in sequence"
    )


if __name__ == "__main__":
    main()
