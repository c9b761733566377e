"""scripts/local.sh runs any pulumi command against the stack local-up.sh left running.

Runs the real ``BAKERY_LOCAL_KEEP=1 scripts/local-up.sh`` (moto server, real CLI) in
a work directory of the test's own, then preview, config set, up, stack output,
refresh and destroy through scripts/local.sh, then ``--stop``. It needs the CLI, so
it lives with the e2e tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from tests.e2e.pulumi_cli import REPO

LOCAL_UP = REPO / "scripts" / "local-up.sh"
LOCAL = REPO / "scripts" / "local.sh"


def _env(work: Path, pulumi_bin: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AWS_"))}
    return {
        **keep,
        "PATH": f"{pulumi_bin}:{os.environ['PATH']}",
        "BAKERY_LOCAL_KEEP": "1",
        "BAKERY_LOCAL_DIR": str(work),
    }


def _local(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOCAL), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _server_pid(work: Path) -> int:
    for line in (work / "local.env").read_text().splitlines():
        if line.startswith("BAKERY_LOCAL_SERVER_PID="):
            return int(line.split("=", 1)[1])
    raise AssertionError("local-up.sh noted no server pid")


def test_local_sh_drives_the_kept_local_stack_then_stops_it(
    tmp_path: Path, pulumi_bin: Path
) -> None:
    work = tmp_path / "local"
    env = _env(work, pulumi_bin)
    up = subprocess.run(
        [str(LOCAL_UP)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert up.returncode == 0, up.stdout + up.stderr
    pid = _server_pid(work)
    try:
        assert "scripts/local.sh up --yes" in up.stdout
        # The local stack runs the whole cycle: a patch, then a verify before image_id.
        assert "patch: sent AWS-RunPatchBaseline" in up.stdout, up.stdout
        assert "booted and passed; test instance terminated" in up.stdout, up.stdout
        first = json.loads(_ok(_local(env, "stack", "output", "--json")))["image_id"]
        _ok(_local(env, "preview", "--expect-no-changes"))

        _ok(_local(env, "config", "set", "bakery:bake.triggers", '["local-2"]'))
        preview = _ok(_local(env, "preview", "--diff"))
        assert "(replace)" in preview
        _ok(_local(env, "up", "--yes"))
        second = _ok(_local(env, "stack", "output", "image_id")).strip()
        assert second.startswith("ami-") and second != first
        _ok(_local(env, "refresh", "--yes"))
        _ok(_local(env, "destroy", "--yes"))
        assert json.loads(_ok(_local(env, "stack", "output", "--json"))) == {}

        _ok(_local(env, "--stop"))
        assert not work.exists()
        gone = _local(env, "preview")
        assert gone.returncode == 1
        assert "run BAKERY_LOCAL_KEEP=1 scripts/local-up.sh first" in gone.stderr
    finally:
        # Only if the pid is still our moto server (not reused after --stop).
        with contextlib.suppress(OSError):
            if b"tests.moto_ext.server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
