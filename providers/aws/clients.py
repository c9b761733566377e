"""The one place AWS (botocore) clients are built: region, endpoint, retries and timeouts.

Adapters build one ``Clients`` per provider method (``Clients.for_props(props)``) and hand
it, or its clients, to the workflows; every client comes from ``make_client``, looked up
on this module at call time, so tests swap that one name to record or fake requests.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal

# Standard mode retries throttling (RequestLimitExceeded) and transient errors with
# capped, jittered backoff; boto3 defaults to "legacy". Ten attempts in all
# (total_max_attempts; botocore's max_attempts would count retries only, 11 sends) ride
# out heavy throttling (a third of calls throttled fails a call with p = 3**-10).
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30
# Check (preview) calls are a few quick reads: an unreachable endpoint must fail the
# preview in seconds, not after 10 attempts x 10 s connect timeouts (43 s measured). Three
# attempts in all (botocore's total_max_attempts; its max_attempts counts retries only)
# still ride out a throttled or dropped call. Worst cases (bench/preview_unreachable.py):
# no route or dropped packets ~2 s x 3 + backoff; a server that accepts and never
# answers ~3 s x 3. Check's reads answer in well under a second on AWS.
CHECK_MAX_ATTEMPTS = 3
CHECK_CONNECT_TIMEOUT_S = 2
CHECK_READ_TIMEOUT_S = 3
# The reachability probe: check's first read, made once (providers/aws/bake/reachability.py,
# ``first_read``). An endpoint that cannot answer fails it within connect 1 s + read 2 s;
# one that answers (even with a throttle or an error) is read again with check's retries.
PROBE_MAX_ATTEMPTS = 1
PROBE_CONNECT_TIMEOUT_S = 1
PROBE_READ_TIMEOUT_S = 2
Purpose = Literal["bake", "check", "probe"]
_POLICY: dict[str, tuple[dict[str, Any], float, float]] = {
    "bake": (
        {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        CONNECT_TIMEOUT_S,
        READ_TIMEOUT_S,
    ),
    "check": (
        {"mode": "standard", "total_max_attempts": CHECK_MAX_ATTEMPTS},
        CHECK_CONNECT_TIMEOUT_S,
        CHECK_READ_TIMEOUT_S,
    ),
    "probe": (
        {"mode": "standard", "total_max_attempts": PROBE_MAX_ATTEMPTS},
        PROBE_CONNECT_TIMEOUT_S,
        PROBE_READ_TIMEOUT_S,
    ),
}

# One botocore session per process: building a client from a fresh session reloads the
# service models (~130 ms); from a shared one it takes ~20 ms. Sessions are not
# thread-safe to build clients from, hence the lock (the provider host runs 4 threads).
# botocore's own session, not boto3's: boto3 adds only resources and s3transfer (about
# 55 ms of import per provider host, and a preview or a bake starts one per resource),
# with the same credential and region chain. Imported on first use: the program (and a
# host that only diffs) never builds a client, and botocore's client machinery is
# about 70 ms of import.
_session: Any = None


def _shared_session() -> Any:
    """The process's botocore session (the caller holds ``_session_lock``)."""
    global _session
    if _session is None:
        import botocore.session

        _session = botocore.session.get_session()
    return _session


_session_lock = threading.Lock()


def make_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    purpose: Purpose = "bake",
) -> Any:
    """Build a botocore client with Bakery's retry and timeout policy.

    Credentials come from botocore's standard chain (resolved once per process and
    refreshed by botocore when temporary); nothing here stores them.

    Args:
        service: a service name ("ec2", "autoscaling", "elbv2", "kms", "ssm", "sts").
        region: AWS region; None uses the AWS chain (AWS_REGION, profile).
        endpoint_url: a local endpoint (moto, LocalStack); None for AWS.
        purpose: "bake" (patient: long waits, heavy throttling) or "check" (preview's
            read-only calls: short timeouts, few attempts, so unreachable AWS fails fast)
            or "probe" (check's first read: one attempt, connect 1 s, read 2 s).
    """
    from botocore.config import Config

    retries, connect_s, read_s = _POLICY[purpose]
    config = Config(
        retries=dict(retries),
        connect_timeout=connect_s,
        read_timeout=read_s,
        user_agent_extra="bakery",
    )
    with _session_lock:
        return _shared_session().create_client(
            service, region_name=region or None, endpoint_url=endpoint_url or None, config=config
        )


def default_region(configured: str | None = None) -> str:
    """The region to use: the stack's ``aws:region``, else the AWS chain
    (AWS_REGION, AWS_DEFAULT_REGION, the profile), else us-east-1."""
    if configured:
        return configured
    with _session_lock:
        return str(_shared_session().get_config_variable("region") or "us-east-1")


class Clients:
    """The clients of one region, endpoint and purpose, each built on first use and kept.

    Made inside a provider method and dropped with it: Pulumi pickles providers, so none
    holds a ``Clients`` (one refuses to be pickled). ``in_region`` gives the same
    endpoint and purpose in another region, for copies.
    """

    def __init__(
        self,
        region: str | None = None,
        endpoint_url: str | None = None,
        purpose: Purpose = "bake",
    ) -> None:
        self.region = region or None
        self.endpoint_url = endpoint_url or None
        self.purpose: Purpose = purpose
        self._built: dict[str, Any] = {}
        self._regions: dict[str, Clients] = {}
        self._purposes: dict[str, Clients] = {}

    @classmethod
    def for_props(
        cls,
        props: Mapping[str, Any],
        *,
        purpose: Purpose = "bake",
        default_region: str | None = None,
    ) -> Clients:
        """The clients for a resource's props: its ``region`` (else ``default_region``,
        the stack's ``aws:region``; else the AWS chain) and ``endpoint_url``."""
        return cls(props.get("region") or default_region, props.get("endpoint_url"), purpose)

    def in_region(self, region: str | None) -> Clients:
        """These clients' endpoint and purpose in ``region`` (None or the same: these)."""
        if not region or region == self.region:
            return self
        if region not in self._regions:
            self._regions[region] = Clients(region, self.endpoint_url, self.purpose)
        return self._regions[region]

    def with_purpose(self, purpose: Purpose) -> Clients:
        """This region's and endpoint's clients for another purpose (e.g. the probe)."""
        if purpose == self.purpose:
            return self
        if purpose not in self._purposes:
            self._purposes[purpose] = Clients(self.region, self.endpoint_url, purpose)
        return self._purposes[purpose]

    def client(self, service: str) -> Any:
        """The ``service`` client, built by ``make_client`` the first time it is asked for."""
        if service not in self._built:
            self._built[service] = make_client(
                service, region=self.region, endpoint_url=self.endpoint_url, purpose=self.purpose
            )
        return self._built[service]

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

    @property
    def kms(self) -> Any:
        return self.client("kms")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    def __reduce__(self) -> Any:
        raise TypeError("Clients are not pickled: build them inside each provider method")

    def __repr__(self) -> str:
        return (
            f"Clients(region={self.region!r}, endpoint_url={self.endpoint_url!r}, "
            f"purpose={self.purpose!r})"
        )
