"""BakedImage and KMS keys: the share check at preview, kms_key_ids, reencrypt_with.

moto with tests/moto_ext/kms_keys.py: aws/ebs is an AWS managed key no other account
may use, snapshots keep their keys, CopyImage re-encrypts, and another account's
launch of a shared image whose key it may not use terminates (Client.InternalError).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.awsrequest
import pytest

from providers.aws.clients import make_client
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION
from tests.moto_ext import kms_keys
from tests.providers.props import news_builder
from tests.recording import wrap_clients

OTHER = "444455556666"
LINEAGE = "bakery/test/keys"


@pytest.fixture
def keyed(aws: None) -> Iterator[None]:
    with kms_keys.installed():
        yield


@pytest.fixture
def kms(keyed: None) -> Any:
    return make_client("kms", region=REGION)


def _golden(ec2: Any, kms_key: str | None) -> str:
    """An instance whose data volume is encrypted with ``kms_key`` (None: aws/ebs)."""
    instance = ec2.run_instances(
        ImageId="ami-0abcdef1234567890",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
    )["Instances"][0]
    extra = {"KmsKeyId": kms_key} if kms_key else {}
    volume = ec2.create_volume(
        AvailabilityZone=instance["Placement"]["AvailabilityZone"], Size=10, Encrypted=True, **extra
    )
    ec2.attach_volume(
        InstanceId=instance["InstanceId"], VolumeId=volume["VolumeId"], Device="/dev/sdf"
    )
    return str(instance["InstanceId"])


def _key(kms: Any, *shared_with: str) -> str:
    """A customer managed key; its policy lets ``shared_with`` accounts use it."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if shared_with:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in shared_with]},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*"],
                "Resource": "*",
            }
        )
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return str(kms.create_key(Policy=policy)["KeyMetadata"]["Arn"])


_news = news_builder(LINEAGE, triggers=["1"], share_with_accounts=[OTHER])


def _failures(provider: BakedImageProvider, news: dict[str, Any]) -> dict[str, str]:
    return {f.property: f.reason for f in provider.check({}, news).failures}


def test_check_share_aws_managed_key_refused_naming_field_and_fix(ec2: Any, kms: Any) -> None:
    golden = _golden(ec2, None)

    failures = _failures(BakedImageProvider(), _news(golden))

    reason = failures["share_with_accounts"]
    assert "alias" not in reason and "AWS managed key" in reason and "aws/ebs" in reason
    assert "reencrypt_with" in reason and "copy_to_regions" in reason
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def test_check_share_customer_key_not_allowing_account_refused_naming_key(
    ec2: Any, kms: Any
) -> None:
    key = _key(kms)
    golden = _golden(ec2, key)

    failures = _failures(BakedImageProvider(), _news(golden))

    assert key in failures["share_with_accounts"]
    assert OTHER in failures["share_with_accounts"]
    assert "kms:Decrypt" in failures["share_with_accounts"]


def test_check_share_customer_key_allowing_account_passes(ec2: Any, kms: Any) -> None:
    golden = _golden(ec2, _key(kms, OTHER))

    assert _failures(BakedImageProvider(), _news(golden)) == {}


def test_check_share_unreadable_policy_warns_naming_the_permission(
    ec2: Any, kms: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = _golden(ec2, _key(kms))

    def refusing(client: Any) -> Any:
        denied = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
        client.meta.events.register(
            "before-call.kms.GetKeyPolicy",
            lambda **_: (botocore.awsrequest.AWSResponse("", 400, {}, None), denied),
        )
        return client

    wrap_clients(monkeypatch, refusing)

    assert _failures(BakedImageProvider(), _news(golden)) == {}
    assert "kms:GetKeyPolicy and kms:ListGrants" in capsys.readouterr().err


def test_check_reencrypt_with_aws_managed_key_refused(ec2: Any, kms: Any) -> None:
    golden = _golden(ec2, None)
    ebs_key = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]

    failures = _failures(BakedImageProvider(), _news(golden, reencrypt_with=ebs_key))

    assert "reencrypt_with" in failures and "customer managed" in failures["reencrypt_with"]


def _launch_as_other(image_id: str) -> dict[str, Any]:
    sts = make_client("sts", region=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/launcher", RoleSessionName="other")[
        "Credentials"
    ]
    import boto3

    other = boto3.client(
        "ec2",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    instance = other.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    seen = other.describe_instances(InstanceIds=[instance["InstanceId"]])
    return dict(seen["Reservations"][0]["Instances"][0])


def test_create_reencrypt_with_shares_a_copy_under_the_key_other_account_launches(
    ec2: Any, kms: Any
) -> None:
    golden = _golden(ec2, None)  # aws/ebs: not shareable as baked
    key = _key(kms, OTHER)
    provider = BakedImageProvider()
    result = provider.check({}, _news(golden, reencrypt_with=key))
    assert result.failures == []

    created = provider.create(result.inputs)

    outs = created.outs
    assert outs["image_id"] == created.id
    assert outs["kms_key_ids"] == {REGION: [key]}
    images = ec2.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in images] == [created.id]  # the aws/ebs original is gone
    launched = _launch_as_other(created.id)
    assert launched["State"]["Name"] == "running"


def test_model_other_account_launch_of_aws_ebs_image_terminates(ec2: Any, kms: Any) -> None:
    golden = _golden(ec2, None)
    provider = BakedImageProvider()
    inputs = provider.check({}, _news(golden, share_with_accounts=[])).inputs
    created = provider.create(inputs)
    assert created.outs["kms_key_ids"][REGION][0].endswith(
        kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    )
    ec2.modify_image_attribute(ImageId=created.id, LaunchPermission={"Add": [{"UserId": OTHER}]})

    launched = _launch_as_other(created.id)

    assert launched["State"]["Name"] == "terminated"
    assert launched["StateReason"]["Code"] == "Client.InternalError"


def test_check_shared_encrypted_copy_without_key_refused_naming_region(ec2: Any, kms: Any) -> None:
    golden = _golden(ec2, _key(kms, OTHER))

    failures = _failures(
        BakedImageProvider(),
        _news(golden, copy_to_regions={"eu-west-1": None, "us-west-2": "alias/bakery-copies"}),
    )

    assert "eu-west-1" in failures["copy_to_regions"]
    assert "us-west-2" not in failures["copy_to_regions"]
    assert "customer managed key" in failures["copy_to_regions"]
