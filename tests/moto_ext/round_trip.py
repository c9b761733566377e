"""A network round trip before every request the moto server answers.

The local server answers in about a millisecond; AWS is a network away (the API
reference gives no latency: tens of milliseconds inside a region, more from a laptop).
Benchmarks that count round trips (bench/check_cost.py) set one with
``python -m tests.moto_ext.server --round-trip-ms 50``: each request sleeps that long in
its own server thread before moto handles it, so requests sent at once overlap as they
would on a network and requests sent one after another add up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication


@contextmanager
def installed(seconds: float) -> Iterator[None]:
    """Delay every request by ``seconds`` while installed."""
    original = DomainDispatcherApplication.__call__

    def delayed(self: Any, environ: Any, start_response: Any) -> Any:
        time.sleep(seconds)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = delayed  # type: ignore[method-assign]
    try:
        yield
    finally:
        DomainDispatcherApplication.__call__ = original  # type: ignore[method-assign]
