"""Benchmark: N BakedImages in one stack under the real engine, one shared provider host
against one provider host per resource.

The Python dynamic-provider host (``python -m pulumi.dynamic``) serves at most 4 calls at
once (a thread pool of 4), and every dynamic resource on one provider shares one host,
so 16 bakes on one provider run in 4 waves. A provider resource per BakedImage
(``pulumi.ProviderResource("pulumi-python", ...)`` passed as ``provider=``) gets a host
process of its own. The engine adds a second limit: ``--parallel`` (default 4 x CPUs,
i.e. 8 on a 2-core machine) steps at once.

Each N runs in both modes side by side on one moto server with simulated latency
(tests/moto_ext/latency.py), one golden instance per BakedImage and a fresh stack per
run. The figure is the wall time of ``pulumi up --yes --skip-preview``, and its ratio
to N = 1 of the same mode. From the engine's event log (``--event-log``): the most bakes
in flight at once, and the longest single bake (a bake's waits poll with jittered
backoff, so the slowest of 16 bakes is slower than a typical one even with no queueing).

    python -m bench.parallel_bakes [--counts 1,4,8,16] [--latency-scale 0.02] [--round-trip-ms 50]

About 9 minutes on 2 cores at the defaults (the shared host's 4 waves at N = 16 alone
take over 2); ``--counts 1,16`` or ``--latency-scale 0.01`` halve it, the latter with
more noise (the waits' backoff overshoot is then a larger share of a bake).

Modes (``--modes``):
  shared        one explicit provider for every BakedImage (one host), --parallel 64
  per-resource  one explicit provider per BakedImage (one host each), --parallel 64
  default       no provider passed (what BakedImage does by itself), --parallel 64
  <mode>@p      the last mode given, with the engine's default --parallel (largest N only)
"""

from __future__ import annotations

import os

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bytecode import cache_bytecode
from providers.aws.clients import make_client
from providers.aws.waits import TIME_SCALE_ENV
from tests.e2e.pulumi_cli import (
    BAKED_IMAGE_TYPE,
    REPO,
    MotoServer,
    Stack,
    Workspace,
    find_pulumi,
    read_events,
    resource_events,
)
from tests.moto_ext.golden import seed_golden_instance
from tests.moto_ext.latency import Latency

REGION = "us-east-1"
TARGET = 1.3  # N = 16 at most this many times N = 1 (issue 16)
WIDE = "64"  # a --parallel that never limits these runs

PROGRAM = '''"""Bench program: N BakedImages, one per golden instance (bench/parallel_bakes.py)."""

import json

import pulumi

from providers.baked_image import BakedImage, BakedImageArgs

config = pulumi.Config("bench")
mode = config.require("mode")
shared = pulumi.ProviderResource("pulumi-python", "shared") if mode == "shared" else None
for i, instance_id in enumerate(json.loads(config.require("instance_ids"))):
    provider = shared
    if mode == "per-resource":
        provider = pulumi.ProviderResource("pulumi-python", f"bake-{i}-provider")
    image = BakedImage(
        f"bake-{i}",
        BakedImageArgs(instance_id=instance_id, endpoint_url=config.require("endpoint_url")),
        pulumi.ResourceOptions(provider=provider),
    )
    pulumi.export(f"bake-{i}", image.image_id)
'''


@dataclass
class Run:
    wall_s: float
    peak_in_flight: int
    longest_bake_s: float
    start_skew_s: float = 0.0  # first bake's start to the last one's
    lead_s: float = 0.0  # the up's start to the first bake's (engine, program, hosts, checks)
    tail_s: float = 0.0  # the last bake's end to the up's (outputs, state, hosts' exit)
    moto_cpu_s: float = 0.0  # CPU the local AWS (moto server) spent on this run
    stack_cpu_s: float = 0.0  # CPU of the CLI and what it ran (program, hosts), reaped


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished (reaped) descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _project(root: Path) -> Path:
    """A throwaway Pulumi project running this python (it has the SDK and boto3)."""
    source = root / "program"
    source.mkdir()
    (source / "Pulumi.yaml").write_text(
        f"name: bakery-bench\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n"
    )
    (source / "__main__.py").write_text(PROGRAM)
    return source


def _analyse(events_path: Path) -> tuple[int, float, float, float, float]:
    """(most bakes in flight at once, longest bake in s, start skew in s, first bake's
    start, last bake's end) from the engine's event log (whole-second timestamps)."""
    events = read_events(events_path)
    stamps = {e["sequence"]: float(e["timestamp"]) for e in events}
    started: dict[str, float] = {}
    in_flight = peak = 0
    longest = 0.0
    ended = 0.0
    for seq, kind, op, urn in resource_events(events):
        if f"::{BAKED_IMAGE_TYPE}::" not in urn or op != "create":
            continue
        if kind == "resourcePreEvent":
            started[urn] = stamps[seq]
            in_flight += 1
            peak = max(peak, in_flight)
        else:
            in_flight -= 1
            longest = max(longest, stamps[seq] - started[urn])
            ended = max(ended, stamps[seq])
    first = min(started.values(), default=0.0)
    skew = max(started.values()) - first if started else 0.0
    return peak, longest, skew, first, ended


def _bake(ws: Workspace, name: str, mode: str, ids: list[str], url: str, parallel: str) -> Run:
    program_mode = mode.split("@")[0]
    stack = Stack(ws, name).init(
        {
            "bench:mode": program_mode,
            "bench:instance_ids": json.dumps(ids),
            "bench:endpoint_url": url,
            "aws:region": REGION,
        }
    )
    events = ws.root / f"{name}.events.jsonl"
    args = ["--skip-preview", "--event-log", str(events)]
    if parallel:
        args += ["--parallel", parallel]
    began, cpu_before = time.time(), _children_cpu_s()
    result = stack.up(*args).check()
    stack_cpu = _children_cpu_s() - cpu_before
    images = stack.outputs()
    assert len(images) == len(ids) and all(v.startswith("ami-") for v in images.values())
    peak, longest, skew, first, ended = _analyse(events)
    lead, tail = first - began, began + result.seconds - ended
    return Run(result.seconds, peak, longest, skew, lead, tail, stack_cpu_s=stack_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="1,4,8,16")
    parser.add_argument("--latency-scale", type=float, default=0.02)
    parser.add_argument("--round-trip-ms", type=float, default=0.0)  # a network's (round_trip.py)
    parser.add_argument("--modes", default="shared,per-resource")
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    modes = args.modes.split(",")
    bin_dir = find_pulumi()
    if bin_dir is None:
        raise SystemExit('pulumi not found: PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"')
    cache_bytecode(REPO)  # as a checkout has it from its second run (bench/bytecode.py)
    lat = Latency().scaled(args.latency_scale)
    default_parallel = 4 * len(os.sched_getaffinity(0))
    print(
        f"simulated latency x{args.latency_scale}: stop {lat.stop_s:.1f}s, start "
        f"{lat.start_s:.1f}s, snapshots {lat.snapshot_s:.1f}s, image {lat.image_s:.1f}s; "
        f"{len(os.sched_getaffinity(0))} CPUs (engine default --parallel {default_parallel}); "
        f"{args.round_trip_ms:.0f} ms a request round trip"
    )
    print(
        "pulumi up --yes --skip-preview --parallel 64; wall s (ratio to N=1) "
        "[most bakes in flight, longest single bake s]"
    )
    runs: dict[tuple[str, int], Run] = {}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bakery-bench-") as tmp,
        MotoServer(latency_scale=args.latency_scale, round_trip_ms=args.round_trip_ms) as moto,
    ):
        root = Path(tmp)
        ws = Workspace(
            root / "ws",
            bin_dir,
            source=_project(root),
            extra_env={TIME_SCALE_ENV: str(args.latency_scale)},
        )
        ec2 = make_client("ec2", region=REGION, endpoint_url=moto.url)
        kms = make_client("kms", region=REGION, endpoint_url=moto.url)
        try:
            plan = [(n, mode, WIDE) for n in counts for mode in modes]
            capped_mode = f"{modes[-1]}@p"  # whichever modes were asked for
            plan.append((counts[-1], capped_mode, ""))
            for n, mode, parallel in plan:
                ids = [seed_golden_instance(ec2, kms, name=f"g{i}") for i in range(n)]
                name = f"{mode.replace('@', '-')}-{n}"
                cpu_before = _cpu_s(moto.process.pid)
                runs[(mode, n)] = run = _bake(ws, name, mode, ids, moto.url, parallel)
                run.moto_cpu_s = _cpu_s(moto.process.pid) - cpu_before
                print(
                    f"  {mode:>14} N={n:<3} {run.wall_s:6.1f}s  [{run.peak_in_flight:>2} in "
                    f"flight, longest bake {run.longest_bake_s:.0f}s; first bake "
                    f"started {run.lead_s:.0f}s in, the last {run.start_skew_s:.0f}s after "
                    f"it; {run.tail_s:.0f}s after the last bake; CPU: stack "
                    f"{run.stack_cpu_s:.1f}s, local AWS {run.moto_cpu_s:.1f}s]",
                    flush=True,
                )
        finally:
            ws.kill_leftovers()
    print(f"\n{'N':>3} " + "".join(f"{m:>30}" for m in modes))
    for n in counts:
        cells = []
        for mode in modes:
            run, base = runs[(mode, n)], runs[(mode, counts[0])]
            cells.append(
                f"{run.wall_s:>8.1f}s ({run.wall_s / base.wall_s:4.2f}x) "
                f"[{run.peak_in_flight:>2}, {run.longest_bake_s:>3.0f}s]"
            )
        print(f"{n:>3} " + "".join(f"{c:>30}" for c in cells))
    last = counts[-1]
    capped = runs[(f"{modes[-1]}@p", last)]
    print(
        f"{modes[-1]}, N={last}, default --parallel ({default_parallel}): {capped.wall_s:.1f}s "
        f"({capped.wall_s / runs[(modes[-1], counts[0])].wall_s:.2f}x N={counts[0]}) "
        f"[{capped.peak_in_flight} in flight, longest bake {capped.longest_bake_s:.0f}s]"
    )
    for mode in modes:
        ratio = runs[(mode, last)].wall_s / runs[(mode, counts[0])].wall_s
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"target N={last} <= {TARGET}x N={counts[0]} ({mode}): {verdict} ({ratio:.2f}x)")
    print(f"bench wall: {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
