"""Benchmark: what the share key check costs a preview, as the target list grows.

Seeds moto (with tests/moto_ext/kms_keys.py) with a golden instance whose data volume
uses a customer managed key, and a key policy allowing N target accounts, then runs
``check_share_keys`` for those N accounts (and, for the fleet, ``check_role_keys`` for
the Auto Scaling role) and prints the API calls (by operation) and wall time. The calls
should not grow with N: one DescribeVolumes, one DescribeKey per key, one GetKeyPolicy
and one ListGrants per customer managed key and check; the policy is judged in process.
Time is moto's and Python's, not AWS's: compare ratios only. Measured here
(2026-12-05, 2 cores): 7 calls for 1, 10 and 50 targets (DescribeVolumes 1,
DescribeKey 2, GetKeyPolicy 2, ListGrants 2: share check + role check), 9.3, 8.9
and 15.2 ms; the share check allows all N, the role check refuses the default role.

    python -m bench.key_checks [--sizes 1,10,50]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto import mock_aws

from providers.aws.clients import make_client
from providers.aws.images.key_checks import ShareTargets, check_role_keys, check_share_keys
from providers.aws.images.keys import autoscaling_role, describe_keys
from tests.conftest import REGION
from tests.moto_ext import kms_keys
from tests.recording import CallRecorder


def _accounts(size: int) -> list[str]:
    return [f"{500000000000 + n:012d}" for n in range(size)]


def _run(size: int) -> tuple[dict[str, int], float, str]:
    with kms_keys.installed(), mock_aws():
        ec2 = make_client("ec2", region=REGION)
        kms = make_client("kms", region=REGION)
        accounts = _accounts(size)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                    "Action": [
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:CreateGrant",
                        "kms:ReEncrypt*",
                    ],
                    "Resource": "*",
                },
            ],
        }
        key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
        instance = ec2.run_instances(ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1)
        instance_id = instance["Instances"][0]["InstanceId"]
        zone = instance["Instances"][0]["Placement"]["AvailabilityZone"]
        volume = ec2.create_volume(AvailabilityZone=zone, Size=10, Encrypted=True, KmsKeyId=key)
        ec2.attach_volume(InstanceId=instance_id, VolumeId=volume["VolumeId"], Device="/dev/sdf")
        calls = CallRecorder()
        calls.attach(ec2)
        calls.attach(kms)
        started = time.monotonic()
        report = check_share_keys(
            ec2, kms, instance_id, ShareTargets(accounts=tuple(accounts)), region=REGION
        )
        role = check_role_keys(kms, describe_keys(kms, [key]), autoscaling_role("123456789012"))
        elapsed = time.monotonic() - started
        refused = f"share refused: {len(report.problems)}, role refused: {len(role.problems)}"
        return dict(calls.counts()), elapsed, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,50")
    args = parser.parse_args()
    base: float | None = None
    _run(1)  # warm-up: the first run loads the service models
    for size in (int(s) for s in args.sizes.split(",")):
        counts, elapsed, problems = _run(size)
        base = base or elapsed
        total = sum(counts.values())
        print(
            f"targets={size:3d}: {total:2d} calls {counts} {elapsed * 1000:.1f} ms "
            f"(x{elapsed / base:.1f}); {problems}"
        )


if __name__ == "__main__":
    main()
