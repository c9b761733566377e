"""A moto HTTP server with Bakery's moto extensions, for the engine and local runs.

    python -m tests.moto_ext.server --port 0 [--latency-scale 0.02] [--stock]
                                             [--round-trip-ms 50]

prints ``http://127.0.0.1:<port>`` on its first line once it serves, then runs until
killed. ``--latency-scale`` turns on tests/moto_ext/latency.py with AWS-like
durations (stop 30 s, start 20 s, snapshots 600 s, image 300 s) times the scale.
``--stock`` serves moto as released, with no extension (what LocalStack's EC2 is).
``--round-trip-ms`` delays every request as a network would (round_trip.py).

The golden instance's cycle runs here too: Run Command, managed nodes and patch states
(ssm_commands.py; every running instance with an instance profile is a managed node, as
SSM Agent makes it on AWS) and status checks that take their time (instance_status.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto.server import ThreadedMotoServer

from tests.moto_ext import (
    faithful_images,
    image_lifecycle,
    instance_hazards,
    instance_refresh,
    instance_status,
    latency,
    round_trip,
    ssm_commands,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-scale", type=float, default=0.0)
    parser.add_argument("--stock", action="store_true", help="no extension: moto as released")
    parser.add_argument("--round-trip-ms", type=float, default=0.0)
    args = parser.parse_args()

    extensions = contextlib.ExitStack()
    if args.round_trip_ms > 0:
        extensions.enter_context(round_trip.installed(args.round_trip_ms / 1000))
    if args.stock:
        _serve(args.host, args.port)
        return
    extensions.enter_context(faithful_images.installed())
    extensions.enter_context(instance_hazards.installed())
    extensions.enter_context(image_lifecycle.installed())
    if args.latency_scale > 0:
        extensions.enter_context(latency.installed(latency.Latency().scaled(args.latency_scale)))
    extensions.enter_context(instance_refresh.installed())
    extensions.enter_context(ssm_commands.installed())
    ssm_commands.auto_register()
    extensions.enter_context(instance_status.installed())
    _serve(args.host, args.port)
    extensions.close()
    sys.exit(0)


def _serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; the first line printed is the URL."""
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
