"""copy_faults: CopyImage refused, or a copy gone to ``failed``, in one region only."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws.clients import make_client
from tests.conftest import REGION, plain_image
from tests.moto_ext import copy_faults


def _copy(remote: Any, source: str) -> str:
    return str(
        remote.copy_image(SourceImageId=source, SourceRegion=REGION, Name="golden-copy")["ImageId"]
    )


def test_refuse_copies_to_answers_the_code_and_makes_nothing(ec2: Any) -> None:
    source = plain_image(ec2)
    remote = make_client("ec2", region="eu-west-1")
    other = make_client("ec2", region="eu-central-1")

    with copy_faults.refuse_copies_to("eu-west-1"), pytest.raises(ClientError) as refused:
        _copy(remote, source)
    with copy_faults.refuse_copies_to("eu-west-1"):
        made = _copy(other, source)  # another region copies as before

    assert refused.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert remote.describe_images(Owners=["self"])["Images"] == []
    assert remote.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    assert other.describe_images(ImageIds=[made])["Images"][0]["State"] == "available"


def test_fail_copies_to_reports_failed_with_the_state_reason(ec2: Any) -> None:
    source = plain_image(ec2)
    remote = make_client("ec2", region="eu-west-1")

    with copy_faults.fail_copies_to("eu-west-1", "Server.InternalError", "copy failed"):
        copy_id = _copy(remote, source)
    after = _copy(remote, source)  # closed: copies succeed again

    image = remote.describe_images(ImageIds=[copy_id])["Images"][0]
    assert image["State"] == "failed"
    assert image["StateReason"] == {"Code": "Server.InternalError", "Message": "copy failed"}
    assert remote.describe_images(ImageIds=[after])["Images"][0]["State"] == "available"
