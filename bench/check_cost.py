"""Benchmark: what one provider host spends before its bake starts (CPU seconds).

A stack with many bakes starts one dynamic-provider host per ``BakedImage``; on a
small machine their start-up and first ``check`` run one after another, and the last
bake starts late (bench/parallel_bakes.py prints that skew). This measures one host's
share in a fresh ``python`` per sample, against a moto server with a seeded golden
instance: the import of ``pulumi.dynamic``, the import of ``providers.baked_image``,
the first ``BakedImageProvider.check`` (clients built, the instance read) and a second
one in the same process. Printed as the median of ``--samples`` fresh processes.

    python -m bench.check_cost [--samples 5]
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
marks = [cpu()]
import pulumi.dynamic
marks.append(cpu())
from providers.baked_image import BakedImageProvider
marks.append(cpu())
news = {"instance_id": sys.argv[2], "lineage": "bakery/bench/image", "triggers": ["1"],
        "region": "us-east-1", "endpoint_url": sys.argv[1]}
for _ in range(2):
    result = BakedImageProvider().check({}, news)
    assert not result.failures, result.failures
    marks.append(cpu())
print(json.dumps([b - a for a, b in zip(marks, marks[1:])]))
"""
PARTS = ("import pulumi.dynamic", "import providers.baked_image", "first check", "second check")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    cache_bytecode(Path.cwd())  # as a checkout has it from its second run (bench/bytecode.py)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    with MotoServer() as moto:
        ec2 = make_client("ec2", region="us-east-1", endpoint_url=moto.url)
        kms = make_client("kms", region="us-east-1", endpoint_url=moto.url)
        instance_id = seed_golden_instance(ec2, kms)
        samples = []
        for _ in range(args.samples):
            out = subprocess.run(
                [sys.executable, "-c", SAMPLE, moto.url, instance_id],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            samples.append(json.loads(out.strip().splitlines()[-1]))
    print(f"one provider host before its bake, CPU s (median of {args.samples} fresh processes)")
    for i, part in enumerate(PARTS):
        print(f"  {part:30} {statistics.median(s[i] for s in samples):5.2f}")
    total = statistics.median(sum(s[:3]) for s in samples)
    print(f"  {'start-up + first check':30} {total:5.2f}")


if __name__ == "__main__":
    main()
