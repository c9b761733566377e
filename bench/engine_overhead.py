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

Then the parts of a no-change preview that are Bakery's, each as a ratio to a fresh
``python -c "import pulumi"``: the program's own imports (over ``pulumi, pulumi_aws``),
the dynamic provider host's import of our provider (over ``pulumi.dynamic``), and one
no-change ``check`` + ``diff`` of the bake in that host (olds: the inputs a first check
returned, as in state after ``up``; a first preview's check, which reads the instance,
is printed beside it); the rest of the preview
is the engine's (CLI, plugins, language host, gRPC). ``--parts-only`` prints just
these (no Pulumi CLI needed); ``--source DIR`` measures another checkout (e.g. a
worktree of an earlier commit) for a before/after.

Each figure is the median of ``--repeat`` runs (wall seconds), with the checkouts'
bytecode cached as a user's is from the second run on (bench/bytecode.py).

    python -m bench.engine_overhead [--repeat 5] [--parts-only] [--source DIR]
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

from bench.bytecode import cache_bytecode
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


# The imports of __main__.py, and of a dynamic provider host serving BakedImage.
PROGRAM_IMPORTS = (
    "import pulumi, pulumi_aws, stack_config, components.image_fleet, "
    "components.promoted_image, providers.baked_image"
)
PROVIDER_IMPORTS = "import pulumi.dynamic, providers.baked_image"
# In a provider host (after its imports): a bake's check and diff. With no olds (argv[3]
# is "{}") it is a first preview's, which reads AWS (the instance, the name); with the
# inputs a first check returned as olds it is a no-change preview's, as the engine calls
# it after `up` (olds are the inputs in state). Prints the seconds, then whether the
# host loaded botocore's client machinery.
CHECK_DIFF_SCRIPT = """
import json, sys, time
import pulumi.dynamic
from providers.baked_image import BakedImageProvider
news = {"instance_id": sys.argv[2], "lineage": "bench/parts", "triggers": ["t"],
        "region": "us-east-1", "endpoint_url": sys.argv[1]}
olds = json.loads(sys.argv[3])
started = time.monotonic()
checked = BakedImageProvider().check(olds, news)
assert not checked.failures, checked.failures
BakedImageProvider().diff("ami-0", olds or dict(checked.inputs), dict(checked.inputs))
print(time.monotonic() - started)
print("botocore.client" in sys.modules)
if olds == {}:
    print(json.dumps(dict(checked.inputs)))
"""


def _timed(run: Callable[[], object]) -> float:
    started = time.monotonic()
    run()
    return time.monotonic() - started


def _python(*args: str, source: Path = REPO) -> str:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, *args], cwd=source, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _fresh_import(statement: str, source: Path) -> float:
    return _timed(lambda: _python("-c", statement, source=source))


def _parts(moto_url: str, instance_id: str, repeat: int, source: Path) -> dict[str, float]:
    """Medians (s) of the parts of a no-change preview that a fresh process can show."""
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        for key, statement in (
            ("import pulumi", "import pulumi"),
            ("import pulumi, pulumi_aws", "import pulumi, pulumi_aws"),
            ("program imports", PROGRAM_IMPORTS),
            ("import pulumi.dynamic", "import pulumi.dynamic"),
            ("provider host imports", PROVIDER_IMPORTS),
        ):
            runs.setdefault(key, []).append(_fresh_import(statement, source))
        first = _python("-c", CHECK_DIFF_SCRIPT, moto_url, instance_id, "{}", source=source)
        seconds, _, olds = first.strip().splitlines()[-3:]
        runs.setdefault("check + diff, a preview that bakes", []).append(float(seconds))
        same = _python("-c", CHECK_DIFF_SCRIPT, moto_url, instance_id, olds, source=source)
        seconds, loaded = same.strip().splitlines()[-2:]
        runs.setdefault("check + diff", []).append(float(seconds))
        runs.setdefault("botocore loaded", []).append(float(loaded == "True"))
    med = {key: statistics.median(values) for key, values in runs.items()}
    med["ours: program"] = max(med["program imports"] - med["import pulumi, pulumi_aws"], 0.0)
    med["ours: provider host"] = max(
        med["provider host imports"] - med["import pulumi.dynamic"], 0.0
    )
    med["ours"] = med["ours: program"] + med["ours: provider host"] + med["check + diff"]
    return med


def _print_parts(med: dict[str, float], preview_s: float | None) -> None:
    base = med["import pulumi"]
    print(f"no-change preview, by part (fresh processes; ratio to import pulumi = {base:.2f}s)")
    keys = ["import pulumi, pulumi_aws", "ours: program", "import pulumi.dynamic"]
    keys += ["ours: provider host", "check + diff", "ours"]
    for key in keys:
        print(f"  {key:40} {med[key]:6.2f}s  {med[key] / base:5.2f}x import pulumi")
    aws = "reads no AWS" if not med["botocore loaded"] else "loads botocore"
    print(f"  (the no-change check {aws}; a preview that will bake checks in ", end="")
    print(f"{med['check + diff, a preview that bakes']:.2f}s, reading the instance)")
    if preview_s is not None:
        engine = preview_s - med["program imports"] - med["provider host imports"]
        engine -= med["check + diff"]
        print(
            f"  {'engine, language host, gRPC (the rest)':40} {engine:6.2f}s  "
            f"{engine / base:5.2f}x import pulumi (of the preview's {preview_s:.2f}s)"
        )


def _pulumi(result: Result) -> float:
    return result.check().seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--parts-only", action="store_true")
    parser.add_argument("--source", type=Path, default=REPO)
    args = parser.parse_args()
    for source in {REPO, args.source.resolve()}:
        cache_bytecode(source)  # as a checkout has it from its second run (bench/bytecode.py)
    if args.parts_only:
        with MotoServer() as moto:
            ec2 = make_client("ec2", region=REGION, endpoint_url=moto.url)
            instance_id = seed_golden_instance(
                ec2, make_client("kms", region=REGION, endpoint_url=moto.url)
            )
            _print_parts(_parts(moto.url, instance_id, args.repeat, args.source.resolve()), None)
        return
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
            parts = _parts(moto.url, instance_id, args.repeat, args.source.resolve())
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
    _print_parts(parts, med.get("preview-same"))
    up_s = med.get("up")
    if up_s:
        print(
            f"pulumi up --yes / bake workflow: {up_s / med['workflow-warm']:.1f}x warm, "
            f"{up_s / med['workflow-fresh']:.1f}x fresh process; "
            f"engine adds {up_s - med['workflow-fresh']:.1f}s per up"
        )


if __name__ == "__main__":
    main()
