"""Benchmark: how long a preview's check takes to fail when AWS cannot be reached.

Runs ``BakedImageProvider.check`` (what the engine calls at preview) for a bake whose
endpoint is a closed local port (connection refused at once), a local server that
accepts and never answers (read timeouts), and optionally an address that drops
packets (connect timeouts, as a firewalled network does). Printed beside
the bake client's policy (10 retries, 10 s connect timeout), which is what check used
before (measured then: 43 s, and the preview passed on a "skipped AWS checks" line).
Check's first read is the reachability probe (one attempt, connect 1 s, read 2 s:
``reachability.first_read``): a silent server fails it in 2.4 s (9.1 s with check's
three attempts of 3 s each, before the probe).

    python -m bench.preview_unreachable [--blackhole 10.255.255.1] [--compare]
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import providers.aws.clients
from providers.aws.clients import make_client
from providers.baked_image import BakedImageProvider
from tests.conftest import closed_endpoint

NEWS = {
    "instance_id": "i-0123456789abcdef0",
    "lineage": "bakery/bench/image",
    "triggers": ["1"],
    "region": "us-east-1",
}


def _time_check(endpoint: str) -> tuple[float, str]:
    started = time.monotonic()
    result = BakedImageProvider().check({}, {**NEWS, "endpoint_url": endpoint})
    elapsed = time.monotonic() - started
    reason = result.failures[0].reason if result.failures else "passed (no failure)"
    return elapsed, reason


def _bake_policy_check(*args: Any, **kwargs: Any) -> Any:
    kwargs.pop("purpose", None)
    return make_client(*args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blackhole", help="an address that drops packets, e.g. 10.255.255.1")
    parser.add_argument(
        "--compare", action="store_true", help="also time the bake client's policy (slow)"
    )
    args = parser.parse_args()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes connects; nobody ever reads or answers
    endpoints = [
        ("closed local port", closed_endpoint()),
        ("silent local server", f"http://127.0.0.1:{silent.getsockname()[1]}"),
    ]
    if args.blackhole:
        endpoints.append(("dropped packets", f"http://{args.blackhole}:80"))
    for label, endpoint in endpoints:
        elapsed, reason = _time_check(endpoint)
        print(f"check, {label}: failed in {elapsed:.2f}s: {reason}")
        if args.compare:
            providers.aws.clients.make_client = _bake_policy_check
            try:
                before, _ = _time_check(endpoint)
            finally:
                providers.aws.clients.make_client = make_client
            print(
                f"  with the bake client's policy: {before:.2f}s "
                f"(ratio check/bake policy = {elapsed / before:.2f})"
            )


if __name__ == "__main__":
    main()
