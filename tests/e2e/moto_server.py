"""A moto server in a subprocess: the local AWS that the e2e tests and benches run against."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

# The repository root: the server runs the repo's tests.moto_ext.server.
_ROOT = Path(__file__).resolve().parents[2]


class MotoServer:
    """``python -m tests.moto_ext.server`` in a subprocess; ``url`` once it serves."""

    def __init__(
        self, latency_scale: float = 0.0, *, stock: bool = False, round_trip_ms: float = 0.0
    ) -> None:
        args = [sys.executable, "-m", "tests.moto_ext.server", "--port", "0"]
        if stock:  # moto as released, no extension (LocalStack's EC2)
            args.append("--stock")
        if round_trip_ms > 0:  # every request delayed as by a network (round_trip.py)
            args += ["--round-trip-ms", str(round_trip_ms)]
        if latency_scale > 0:
            args += ["--latency-scale", str(latency_scale)]
        env = {**os.environ, "PYTHONPATH": str(_ROOT), "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
        self.process = subprocess.Popen(
            args, cwd=_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"moto server did not start (first line: {line!r})")
        self.url = line

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
