"""Benchmark: what the Pulumi engine adds to Bakery's bake-only stack, as ratios.

Against one moto server with instant state changes (so the figures are the engine's and
Python's start-up and bookkeeping, not AWS's), with the real program and its
``Pulumi.local.yaml`` in a throwaway file backend (tests/e2e/pulumi_cli.py):

- ``pulumi preview`` (a new stack, and a baked stack with no changes) beside a fresh
  ``python -c "import pulumi, pulumi_aws"``: what a pull request's preview costs over
  just loading the SDKs;
- ``pulumi up --yes`` (and ``--skip-preview``) beside the bake workflow alone
  (``providers.aws.bake.baked_image.bake_image`` against the same moto server), both in a
  warm process and in a fresh ``python`` process that imports it first.

Each figure is the median of ``--repeat`` runs (wall seconds).

    python -m bench.engine_overhead [--repeat 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
from tests.e2e.pulumi_cli import REPO, MotoServer, Result, Stack, Workspace, find_pulumi
from tests.moto_ext.golden import seed_golden_instance

REGION = "us-east-1"
# A fresh interpreter that imports the workflow and bakes once (the "workflow alone").
BAKE_SCRIPT = """
import sys
from providers.aws.bake.baked_image import BakeRequest, bake_image
from providers.aws.clients import make_client
ec2 = make_client("ec2", region="us-east-1", endpoint_url=sys.argv[1])
bake_image(ec2, BakeRequest(sys.argv[2], sys.argv[3], sys.argv[3], "bench/fresh/" + sys.argv[3]))
"""


def _timed(run: Callable[[], object]) -> float:
    started = time.monotonic()
    run()
    return time.monotonic() - started


def _python(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True)


def _pulumi(result: Result) -> float:
    return result.check().seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bin_dir = find_pulumi()
    if bin_dir is None:
        raise SystemExit('pulumi not found: PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"')
    times: dict[str, list[float]] = {}

    def note(key: str, seconds: float) -> None:
        times.setdefault(key, []).append(seconds)

    with tempfile.TemporaryDirectory(prefix="bakery-bench-") as tmp, MotoServer() as moto:
        ec2 = make_client("ec2", region=REGION, endpoint_url=moto.url)
        kms = make_client("kms", region=REGION, endpoint_url=moto.url)
        instance_id = seed_golden_instance(ec2, kms)
        ws = Workspace(Path(tmp), bin_dir)
        stack = Stack(ws).init(
            {"bakery:bake.instance_id": instance_id, "bakery:bake.endpoint_url": moto.url}
        )
        try:
            for rep in range(args.repeat):
                note("import", _timed(lambda: _python("-c", "import pulumi, pulumi_aws")))
                note("preview-new", _pulumi(stack.preview()))
                note("up", _pulumi(stack.up()))
                note("preview-same", _pulumi(stack.preview("--expect-no-changes")))
                note("destroy", _pulumi(stack.destroy("--skip-preview")))
                note("up-skip-preview", _pulumi(stack.up("--skip-preview")))
                note("destroy", _pulumi(stack.destroy("--skip-preview")))
                name = f"warm-{rep}"
                request = BakeRequest(instance_id, name, name, f"bench/warm/{name}")
                note("workflow-warm", _timed(partial(bake_image, ec2, request)))
                fresh = partial(_python, "-c", BAKE_SCRIPT, moto.url, instance_id, f"fresh-{rep}")
                note("workflow-fresh", _timed(fresh))
        finally:
            ws.kill_leftovers()

    med = {key: statistics.median(values) for key, values in times.items()}
    print("engine overhead, bake-only stack, moto with instant state changes (median of runs)")
    rows = [
        ("python -c 'import pulumi, pulumi_aws'", "import", None),
        ("pulumi preview (new stack)", "preview-new", "import"),
        ("pulumi preview (baked, no changes)", "preview-same", "import"),
        ("bake workflow alone, warm process", "workflow-warm", None),
        ("bake workflow alone, fresh python", "workflow-fresh", None),
        ("pulumi up --yes", "up", "workflow-fresh"),
        ("pulumi up --yes --skip-preview", "up-skip-preview", "workflow-fresh"),
        ("pulumi destroy --yes --skip-preview", "destroy", None),
    ]
    for label, key, versus in rows:
        if key not in med:
            continue
        line = f"  {label:40} {med[key]:6.2f}s  (n={len(times[key])})"
        if versus:
            line += f"  {med[key] / med[versus]:5.1f}x {versus}"
        print(line)
    up_s = med.get("up")
    if up_s:
        print(
            f"pulumi up --yes / bake workflow: {up_s / med['workflow-warm']:.1f}x warm, "
            f"{up_s / med['workflow-fresh']:.1f}x fresh process; "
            f"engine adds {up_s - med['workflow-fresh']:.1f}s per up"
        )


if __name__ == "__main__":
    main()
