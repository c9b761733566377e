"""Clients for tests: each kind built once per test, the way the providers build it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import providers.aws.clients as clients_module
from providers.aws.clients import Purpose
from tests.conftest import REGION


def reuse_clients(monkeypatch: pytest.MonkeyPatch, shared: dict[str, Any] | None = None) -> None:
    """Let the providers build each kind of client once per test (built the same way).

    Building a boto3 client loads its service model (~0.2 s here); the providers build
    theirs in every method, as they must in the host. Clients are thread-safe.
    ``shared``: bake clients to hand out for the test region (so tests see what they
    send). Swaps ``providers.aws.clients.make_client`` on top of any earlier swap.
    """
    built: dict[tuple[Any, ...], Any] = {
        (service, region, None, "bake"): client
        for service, client in (shared or {}).items()
        for region in (REGION, None)  # None: the stack's region, REGION in tests
    }
    lock = threading.Lock()
    inner = clients_module.make_client

    def make(
        service: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        purpose: Purpose = "bake",
    ) -> Any:
        with lock:
            key = (service, region, endpoint_url, purpose)
            if key not in built:
                built[key] = inner(
                    service, region=region, endpoint_url=endpoint_url, purpose=purpose
                )
            return built[key]

    monkeypatch.setattr(clients_module, "make_client", make)
