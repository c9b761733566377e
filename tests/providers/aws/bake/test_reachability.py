"""Check-time AWS failures (providers/aws/bake/reachability.py): one clear line each, fast."""

from __future__ import annotations

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from providers.aws.bake.reachability import aws_problem, first_read
from providers.aws.clients import CHECK_MAX_ATTEMPTS, Clients, make_client
from providers.aws.errors import AwsUnreachableError
from tests.conftest import REGION, closed_endpoint


def test_aws_problem_unreachable_endpoint_names_endpoint_and_region_after_few_attempts() -> None:
    endpoint = closed_endpoint()
    ec2 = make_client("ec2", region=REGION, endpoint_url=endpoint, purpose="check")
    sent: list[str] = []
    ec2.meta.events.register("before-send.ec2.*", lambda request, **_: sent.append(request.url))

    with pytest.raises(BotoCoreError) as raised:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    problem = aws_problem(raised.value, ec2, endpoint)

    assert isinstance(problem, AwsUnreachableError)
    assert problem.field == "endpoint_url" and problem.found == endpoint
    assert f"cannot reach AWS at {endpoint} (region {REGION})" in str(problem)
    assert "\n" not in str(problem)
    assert len(sent) == CHECK_MAX_ATTEMPTS  # a few attempts, not the bake client's ten
    assert ec2.meta.config.connect_timeout <= 3


def _sent(clients: Clients, service: str = "ec2") -> list[str]:
    """The purposes of the requests ``clients``' ``service`` client sends, as they go."""
    sent: list[str] = []
    client = clients.client(service)
    client.meta.events.register(
        f"before-send.{service}.*", lambda **_: sent.append(clients.purpose)
    )
    return sent


def test_first_read_unreachable_sends_one_request_and_no_check_retry() -> None:
    reads = Clients(REGION, closed_endpoint(), purpose="check")
    probe_sent, check_sent = _sent(reads.with_purpose("probe")), _sent(reads)

    with pytest.raises(BotoCoreError):
        first_read(reads, lambda ec2: ec2.describe_instances())

    assert (len(probe_sent), len(check_sent)) == (1, 0)


def test_first_read_an_answer_of_any_kind_is_read_again_with_check_retries() -> None:
    reads = Clients(REGION, purpose="check")
    asked: list[str] = []

    def read(ec2: object) -> str:
        purpose = "probe" if ec2 is reads.with_purpose("probe").ec2 else "check"
        asked.append(purpose)
        if purpose == "probe":
            raise ClientError({"Error": {"Code": "RequestLimitExceeded"}}, "DescribeInstances")
        return "read"

    assert first_read(reads, read) == "read"
    assert asked == ["probe", "check"]


def test_aws_problem_access_denied_names_operation_and_policy() -> None:
    ec2 = make_client("ec2", region=REGION, purpose="check")
    exc = ClientError(
        {"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeInstances"
    )

    problem = aws_problem(exc, ec2, None)

    assert problem.field == "region" and problem.found == REGION
    assert "https://ec2.us-east-1.amazonaws.com (region us-east-1)" in str(problem)
    assert "refused DescribeInstances (UnauthorizedOperation)" in str(problem)
    assert "iam/bakery-policy.json" in str(problem)


def test_aws_problem_answer_that_is_not_aws_is_a_clear_problem() -> None:
    """A proxy or captive portal answering in AWS's place (seen here: an empty 404)."""
    ec2 = make_client("ec2", region=REGION, purpose="check")

    problem = aws_problem(ResponseParserError("invalid XML received"), ec2, None)

    assert isinstance(problem, AwsUnreachableError) and problem.field == "region"
    assert "https://ec2.us-east-1.amazonaws.com (region us-east-1) did not answer as AWS" in str(
        problem
    )
