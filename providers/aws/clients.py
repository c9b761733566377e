"""The one place boto3 clients are built: region, endpoint, retries and timeouts."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling (RequestLimitExceeded) and transient errors with
# capped, jittered backoff; boto3 defaults to "legacy". Ten attempts ride out heavy
# throttling (a third of calls throttled fails a call with p = 3**-10).
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30

# One boto3 session per process: building a client from a fresh session reloads the
# service models (~130 ms); from a shared one it takes ~20 ms. Sessions are not
# thread-safe to build clients from, hence the lock (the provider host runs 4 threads).
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def make_client(service: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """Build a boto3 client with Bakery's retry and timeout policy.

    Credentials come from the standard boto3 chain (resolved once per process and
    refreshed by botocore when temporary); nothing here stores them.

    Args:
        service: "ec2" or "autoscaling".
        region: AWS region; None uses the boto3 chain (AWS_REGION, profile).
        endpoint_url: a local endpoint (moto, LocalStack); None for AWS.
    """
    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra="bakery",
    )
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            service, region_name=region or None, endpoint_url=endpoint_url or None, config=config
        )
