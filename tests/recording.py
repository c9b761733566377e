"""Test helpers on botocore events: record what we send, inject faults and throttling.

moto drops or accepts things AWS would not, so tests assert on the requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    service: str = ""


@dataclass
class CallRecorder:
    """Every API call a client makes, in order, with its parameters."""

    calls: list[Call] = field(default_factory=list)

    def attach(self, client: Any) -> CallRecorder:
        """Record ``client``'s calls (once, however often it is attached)."""
        client.meta.events.register(
            "before-parameter-build.*", self._record, unique_id=f"recorder-{id(self)}"
        )
        return self

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix if model.service_model else ""
        self.calls.append(Call(model.name, params, service))

    def ops(self) -> list[str]:
        return [c.operation for c in self.calls]

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.operation == operation]

    def index(self, operation: str, **match: Any) -> int:
        """Position of the first call of ``operation`` whose params contain ``match``."""
        for i, call in enumerate(self.calls):
            if call.operation == operation and all(k in call.params for k in match):
                return i
        raise AssertionError(f"no {operation} call with {match} in {self.ops()}")

    def counts(self) -> Counter[str]:
        return Counter(self.ops())


def wrap_clients(monkeypatch: Any, wrap: Callable[[Any], Any]) -> None:
    """Pass every client the providers build through ``wrap`` (which returns it).

    Swaps ``providers.aws.clients.make_client``, where every ``Clients`` builds its
    clients, on top of any earlier swap (so wraps and ``reuse_clients`` stack).
    """
    import providers.aws.clients as clients_module

    inner = clients_module.make_client

    def make(*args: Any, **kwargs: Any) -> Any:
        return wrap(inner(*args, **kwargs))

    monkeypatch.setattr(clients_module, "make_client", make)


def record_clients(monkeypatch: Any) -> CallRecorder:
    """Record every request of the clients the providers build."""
    recorder = CallRecorder()

    def attached(client: Any) -> Any:
        recorder.attach(client)
        return client

    wrap_clients(monkeypatch, attached)
    return recorder


@dataclass
class FaultInjector:
    """Fail the ``fail_at``-th API call (0-based) with a ClientError, once."""

    fail_at: int
    seen: int = 0
    failed_op: str = ""

    def attach(self, client: Any) -> FaultInjector:
        client.meta.events.register_first("before-call.*", self._maybe_fail)
        return self

    def _maybe_fail(self, model: Any, **_: Any) -> None:
        index, self.seen = self.seen, self.seen + 1
        if index == self.fail_at:
            self.failed_op = model.name
            raise ClientError(
                {"Error": {"Code": "InjectedFault", "Message": f"injected at call {index}"}},
                model.name,
            )


_THROTTLE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>throttled</RequestID></Response>"
)


@dataclass
class Throttler:
    """Answer every ``every``-th HTTP request with RequestLimitExceeded (before moto)."""

    every: int = 3
    sent: int = 0
    throttled: int = 0

    def attach(self, client: Any) -> Throttler:
        client.meta.events.register_first("before-send.*", self._maybe_throttle)
        return self

    def _maybe_throttle(self, request: Any, **_: Any) -> AWSResponse | None:
        self.sent += 1
        if self.sent % self.every:
            return None
        self.throttled += 1
        return AWSResponse(request.url, 400, {}, _FakeRaw(_THROTTLE_BODY))


class _FakeRaw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body
