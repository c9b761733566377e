"""Check-time AWS failures: unreachable, no credentials, access refused, not AWS answering.

A preview that cannot read AWS proves nothing, so ``check`` fails with one line naming
the endpoint and the region instead of passing on ids it never verified (the bake's
check and issue 11's "previews that prove something" share this). The check-time
clients (``make_client(..., purpose="check")``) make the failure come in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from providers.aws.clients import Clients
from providers.aws.errors import AwsUnreachableError, InvalidInputError, is_response_parser_error

T = TypeVar("T")


def aws_call_errors() -> tuple[type[Exception], ...]:
    """What a check-time AWS call raises when AWS cannot be asked: no path, no
    credentials, refused access, or an answer that is not AWS's (a proxy's or captive
    portal's page). A function for ``except aws_call_errors():`` (evaluated only when
    something was raised): ``botocore.parsers`` is about 70 ms of import that a
    process which builds no client, such as the program, need not pay."""
    from botocore.parsers import ResponseParserError

    return (BotoCoreError, ClientError, ResponseParserError)


# ClientError codes that mean "these credentials may not", not "the input is wrong".
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "ExpiredToken",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "OptInRequired",
    }
)


def aws_problem(exc: BaseException, client: Any, endpoint_url: str | None) -> InvalidInputError:
    """A check-time AWS failure as one clear problem naming the endpoint and region.

    Unreachable endpoints, missing credentials and refused access all fail the preview:
    a plan made without reading AWS proves nothing.
    """
    region = client.meta.region_name
    endpoint = endpoint_url or client.meta.endpoint_url
    field_name, found = ("endpoint_url", endpoint_url) if endpoint_url else ("region", region)
    where = f"{endpoint} (region {region})"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        op = exc.operation_name
        if code in _ACCESS_CODES:
            fix = (
                f"AWS at {where} refused {op} ({code}): the credentials may not read what "
                "preview checks; grant the actions of iam/bakery-policy.json (ReadEc2) or "
                "use credentials that have them"
            )
        else:
            fix = f"AWS at {where} answered {op} with {code}: {exc}; retry the preview"
    elif is_response_parser_error(exc):
        fix = (
            f"{where} did not answer as AWS does (ResponseParserError: a proxy or "
            "captive portal in the way?); preview reads the golden instance to check "
            "it: check the network, proxy and region"
        )
    elif isinstance(exc, BotoCoreError) and "credential" in type(exc).__name__.lower():
        fix = (
            f"no AWS credentials for {where} ({type(exc).__name__}); preview reads the "
            "golden instance to check it: set AWS_PROFILE or the AWS_* variables"
        )
    else:
        fix = (
            f"cannot reach AWS at {where} ({type(exc).__name__}); preview reads the "
            "golden instance to check it: check the network, proxy and region"
            + (", and that the endpoint is up" if endpoint_url else "")
        )
    return AwsUnreachableError(field_name, found, fix)


def first_read(reads: Clients, read: Callable[[Any], T], service: str = "ec2") -> T:
    """Check's first read, made as the reachability probe: one attempt, connect 1 s, read 2 s.

    An endpoint that never answers (or cannot be reached) fails the check here within
    about 3 s instead of after check's three attempts (9 s). An answer of any kind (a
    throttle, a refusal) proves AWS is there: then the read is made again with
    ``reads``' own retries, so a throttled preview still passes.

    AWS calls: those of ``read``, once or twice.
    """
    try:
        return read(reads.with_purpose("probe").client(service))
    except ClientError:
        return read(reads.client(service))
