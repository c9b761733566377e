"""The one place boto3 clients are built: region, endpoint, retries and timeouts."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling (RequestLimitExceeded) and transient errors with
# capped, jittered backoff; boto3 defaults to "legacy". Ten attempts ride out heavy
# throttling (a third of calls throttled fails a call with p = 3**-10).
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30


def make_client(service: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """Build a boto3 client with Bakery's retry and timeout policy.

    Credentials come from the standard boto3 chain at call time; nothing here
    stores them.

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
    return boto3.session.Session().client(
        service, region_name=region or None, endpoint_url=endpoint_url or None, config=config
    )
