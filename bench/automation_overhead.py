"""What driving the CLI through the Automation API costs the e2e tests.

The same bake-only stack life (stack init + config, ``up --skip-preview``, a
no-change ``preview``, ``refresh``, ``destroy``) runs against a moto server through
``tests.e2e.pulumi_cli.Stack`` (``pulumi.automation``) and through the CLI directly
(``Workspace.pulumi``), alternating, ``--rounds`` times each; it prints the median
wall time of each way and their ratio. ``up`` through the Automation API also runs
``stack output`` and ``stack history`` (for its result), which is most of the cost.

    python -m bench.automation_overhead --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Aws, stack_config
from tests.e2e.pulumi_cli import MotoServer, Stack, Workspace, find_pulumi


def _automation(stack: Stack) -> None:
    stack.up("--skip-preview").check()
    stack.preview("--expect-no-changes").check()
    stack.refresh().check()
    stack.destroy().check()


def _cli(stack: Stack) -> None:
    for args in (
        ["up", "--yes", "--skip-preview"],
        ["preview", "--expect-no-changes"],
        ["refresh", "--yes", "--skip-preview"],
        ["destroy", "--yes", "--skip-preview"],
    ):
        stack.run(*args).check()


def _round(moto: MotoServer, bin_dir: Path, life: Callable[[Stack], None]) -> float:
    moto.reset()
    aws = Aws(moto.url)
    with tempfile.TemporaryDirectory() as root:
        workspace = Workspace(Path(root), bin_dir)
        try:
            started = time.monotonic()
            life(Stack(workspace).init(stack_config(aws)))
            return time.monotonic() - started
        finally:
            workspace.kill_leftovers()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    bin_dir = find_pulumi()
    if bin_dir is None:
        raise SystemExit('pulumi not found: PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"')
    times: dict[str, list[float]] = {"automation": [], "cli": []}
    with MotoServer() as moto:
        for _ in range(rounds):
            times["automation"].append(_round(moto, bin_dir, _automation))
            times["cli"].append(_round(moto, bin_dir, _cli))
    medians = {way: statistics.median(seconds) for way, seconds in times.items()}
    for way, seconds in times.items():
        print(f"{way:10} median {medians[way]:6.2f} s  ({', '.join(f'{s:.2f}' for s in seconds)})")
    print(f"automation / cli = {medians['automation'] / medians['cli']:.2f}")


if __name__ == "__main__":
    main()
