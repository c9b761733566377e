"""A ``pulumi up`` SIGKILLed in the middle of a bake, then the documented recovery.

The recovery a user runs (docs/recovery.md, "Recovering from an interrupted run"):

    pulumi cancel --yes                           # if the lock remains (it does)
    pulumi refresh --yes --clear-pending-creates
    pulumi up --yes                               # same bake id: adopts what is left

moto runs with latency (stop 0.15 s, start 0.1 s, snapshots 3 s, image 1.5 s) so that a
bake has a middle. Three ways a run dies:

- ``whole-run``: pulumi and every plugin process group under it are killed while the
  bake holds the instance stopped (a CI job or machine gone). The instance stays
  stopped with its ``bakery:stopped-by``/``bakery:restore-state`` note until the
  recovery restores it from that note.
- ``pulumi-only``: only pulumi is killed, during the snapshot wait. Plugins run in
  their own process group, so the provider host lives on, but its stderr (a pipe to
  the dead pulumi) is broken: its next progress line raises BrokenPipeError and ends
  that bake before any further change. The recovery adopts the pending image (and
so its snapshots) that CreateImage made.
- ``host-keeps-baking``: only pulumi is killed while the instance is held, and the
  test keeps reading the host's stderr, so the killed run's bake goes on *during* the
  recovery (the worst case). Both runs bake the same bake id; whichever calls
  CreateImage second adopts the other's image (InvalidAMIName.Duplicate), and both
  restart the instance from the same note.

Every way ends with exactly one AMI of ours, only its snapshots, the instance running
without a stop note, and one BakedImage in the state.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from providers.aws import tags
from providers.aws.waits import TIME_SCALE_ENV
from tests.e2e.conftest import Aws, stack_config
from tests.e2e.pulumi_cli import MotoServer, Stack, Workspace, descendants

pytestmark = pytest.mark.e2e

# AWS-like latency (tests/moto_ext/latency.py) times this: a bake takes a few seconds.
LATENCY_SCALE = 0.005
KILL_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def slow_moto() -> Iterator[MotoServer]:
    with MotoServer(latency_scale=LATENCY_SCALE) as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, pulumi_bin: Path) -> Iterator[Workspace]:
    """The e2e workspace, with the bake's waits at the simulated AWS's pace."""
    ws = Workspace(tmp_path, pulumi_bin, extra_env={TIME_SCALE_ENV: str(LATENCY_SCALE)})
    yield ws
    ws.kill_leftovers()


@pytest.fixture
def slow_aws(slow_moto: MotoServer) -> Aws:
    slow_moto.reset()
    return Aws(slow_moto.url)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = KILL_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _instance_held(aws: Aws) -> bool:
    """The bake holds the instance: its stop note is on (set just before StopInstances)."""
    return tags.STOPPED_BY in aws.instance_tags()


def _instance_down(aws: Aws) -> bool:
    """The bake holds the instance and has stopped it (the note goes on first, and the
    bake reads it back before StopInstances)."""
    return _instance_held(aws) and aws.instance_state() in ("stopping", "stopped")


def _snapshots_pending(aws: Aws) -> bool:
    """The bake waits for its snapshots: they exist, pending, and the instance is back."""
    snapshots = aws.snapshots()
    return (
        bool(snapshots)
        and all(s["State"] == "pending" for s in snapshots)
        and aws.instance_state() == "running"
        and not _instance_held(aws)
    )


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running (a killed process may linger as a zombie until it is reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@dataclass
class HostLog:
    """Lines the killed run's provider host writes on stderr after pulumi is gone."""

    lines: list[str] = field(default_factory=list)

    def follow(self, pid: int) -> None:
        # Opening the pipe through /proc gives this test a read end of its own, so the
        # host's writes do not fail when pulumi (the other reader) dies.
        stream: IO[bytes] = open(f"/proc/{pid}/fd/2", "rb", buffering=0)  # noqa: SIM115

        def drain() -> None:
            with stream:
                for line in iter(stream.readline, b""):
                    self.lines.append(line.decode(errors="replace").rstrip())

        threading.Thread(target=drain, daemon=True).start()

    def find(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


@dataclass
class KilledRun:
    hosts: list[int]
    bake_id: str | None
    host_log: HostLog


def _kill_up_when(
    stack: Stack,
    aws: Aws,
    ready: Callable[[Aws], bool],
    *,
    kill_plugins: bool,
    follow_host: bool,
    log: Path,
) -> KilledRun:
    up = stack.ws.popen("up", "--yes", "--stack", stack.name, log=log)
    below: list[int] = []
    try:
        _wait_for(lambda: ready(aws) or up.poll() is not None, "the bake's middle")
        assert up.poll() is None, f"pulumi up ended before the kill:\n{log.read_text()}"
        bake_id = aws.instance_tags().get(tags.STOPPED_BY)
        below = descendants(up.pid)
        hosts = [p for p in below if "pulumi.dynamic" in _cmdline(p)]
        assert hosts, f"no provider host under pulumi ({[_cmdline(p) for p in below]})"
        host_log = HostLog()
        if follow_host:
            for pid in hosts:
                host_log.follow(pid)
    finally:
        os.kill(up.pid, signal.SIGKILL)
        up.wait()
    if kill_plugins:
        groups = {os.getpgid(p) for p in below if _alive(p)} - {os.getpgrp()}
        for group in groups:
            os.killpg(group, signal.SIGKILL)
    return KilledRun(hosts, bake_id, host_log)


def _recover(stack: Stack) -> str:
    """The documented recovery (docs/recovery.md); returns the output of the final ``pulumi up``."""
    locked = stack.refresh("--clear-pending-creates")
    assert locked.returncode != 0 and "pulumi cancel" in locked.output, locked.output
    stack.run("cancel", "--yes").check()
    stack.refresh("--clear-pending-creates").check()
    return stack.up().check().output


def _assert_one_baked_image(stack: Stack, aws: Aws) -> dict:
    image = aws.assert_only_image_of_ours()
    assert stack.outputs()["image_id"] == image["ImageId"]
    [resource] = stack.resources()
    assert resource["id"] == image["ImageId"]
    assert not stack.export()["deployment"].get("pending_operations")
    return image


def test_up_killed_with_its_plugins_while_instance_stopped_then_recovery_restores_it(
    stack_factory: Callable[[Aws], Stack], slow_aws: Aws, tmp_path: Path
) -> None:
    stack = stack_factory(slow_aws)
    killed = _kill_up_when(
        stack,
        slow_aws,
        _instance_down,
        kill_plugins=True,
        follow_host=False,
        log=tmp_path / "killed-up.log",
    )
    _wait_for(lambda: not any(_alive(p) for p in killed.hosts), "the host to die", 5)
    time.sleep(0.3)  # the stop the killed run sent completes
    assert slow_aws.instance_state() in ("stopping", "stopped")
    assert slow_aws.instance_tags()[tags.RESTORE_STATE] == "running"

    _recover(stack)

    image = _assert_one_baked_image(stack, slow_aws)
    assert slow_aws.image_tags(image)[tags.BAKE_ID] == killed.bake_id


def test_up_killed_during_snapshot_wait_then_recovery_adopts_the_snapshots(
    stack_factory: Callable[[Aws], Stack], slow_aws: Aws, tmp_path: Path
) -> None:
    stack = stack_factory(slow_aws)
    killed = _kill_up_when(
        stack,
        slow_aws,
        _snapshots_pending,
        kill_plugins=False,
        follow_host=False,
        log=tmp_path / "killed-up.log",
    )
    started = {s["SnapshotId"] for s in slow_aws.snapshots()}

    output = _recover(stack)

    image = _assert_one_baked_image(stack, slow_aws)
    assert "adopting image" in output
    assert slow_aws.image_snapshot_ids(image) == started
    # The killed run's host outlives it (own process group, no engine health check):
    # an idle process until killed. Its bake ended at its first line on the dead pipe.
    assert all(_alive(p) for p in killed.hosts)


def test_up_killed_while_its_host_keeps_baking_then_recovery_and_host_agree_on_one_image(
    stack_factory: Callable[[Aws], Stack], slow_aws: Aws, tmp_path: Path
) -> None:
    stack = stack_factory(slow_aws)
    killed = _kill_up_when(
        stack,
        slow_aws,
        _instance_held,
        kill_plugins=False,
        follow_host=True,
        log=tmp_path / "killed-up.log",
    )

    _recover(stack)
    _wait_for(
        lambda: bool(
            killed.host_log.find("baked ami-") or killed.host_log.find("Exception calling")
        ),
        "the killed run's bake to end",
    )

    image = _assert_one_baked_image(stack, slow_aws)
    assert slow_aws.image_tags(image)[tags.BAKE_ID] == killed.bake_id
    assert killed.host_log.find(f"baked {image['ImageId']}"), killed.host_log.lines


@pytest.fixture
def stack_factory(workspace: Workspace) -> Callable[[Aws], Stack]:
    def make(aws: Aws) -> Stack:
        return Stack(workspace).init(stack_config(aws))

    return make
