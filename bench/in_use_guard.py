"""Benchmark: what the in-use guard costs a release, as an account grows.

Seeds moto with N launch templates (2 versions each), N/10 Auto Scaling groups and a
lineage of 5 images, then runs ``image_uses`` for the lineage and prints the API calls
it made (by operation) and its wall time. The calls should not grow with N beyond
paging: one account-wide DescribeLaunchTemplateVersions, one DescribeInstances per 200
images, one DescribeAutoScalingGroups (paged), plus one DescribeLaunchTemplateVersions
per group that names a template. Time is moto's, not AWS's: compare ratios only. (moto cuts
DescribeLaunchTemplateVersions at 15 results; tests/moto_ext/image_lifecycle.py pages
as AWS does.)

    python -m bench.in_use_guard [--sizes 10,100,500]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto import mock_aws

from providers.aws.clients import make_client
from providers.aws.images.use import UsePolicy, image_uses
from tests.conftest import REGION, plain_image
from tests.moto_ext import image_lifecycle
from tests.recording import CallRecorder


def _run(size: int) -> tuple[dict[str, int], float]:
    with image_lifecycle.installed(), mock_aws():
        ec2 = make_client("ec2", region=REGION)
        autoscaling = make_client("autoscaling", region=REGION)
        lineage = [plain_image(ec2, f"lineage-{n}") for n in range(5)]
        for n in range(size):
            template = ec2.create_launch_template(
                LaunchTemplateName=f"lt-{n}", LaunchTemplateData={"ImageId": lineage[n % 5]}
            )["LaunchTemplate"]
            ec2.create_launch_template_version(
                LaunchTemplateId=template["LaunchTemplateId"],
                LaunchTemplateData={"ImageId": lineage[(n + 1) % 5]},
            )
            if n % 10 == 0:
                autoscaling.create_auto_scaling_group(
                    AutoScalingGroupName=f"g-{n}",
                    LaunchTemplate={
                        "LaunchTemplateId": template["LaunchTemplateId"],
                        "Version": "1",
                    },
                    MinSize=0,
                    MaxSize=1,
                    AvailabilityZones=[f"{REGION}a"],
                )
        images = ec2.describe_images(ImageIds=lineage)["Images"]
        calls = CallRecorder()
        calls.attach(ec2)
        calls.attach(autoscaling)
        started = time.monotonic()
        image_uses(ec2, autoscaling, images, policy=UsePolicy(prune_shared=True))
        return dict(calls.counts()), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,500")
    args = parser.parse_args()
    base: float | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        counts, elapsed = _run(size)
        base = base or elapsed
        total = sum(counts.values())
        print(
            f"templates={size:4d} groups={size // 10:3d}: {total:3d} calls {counts} "
            f"{elapsed * 1000:.0f} ms (x{elapsed / base:.1f})"
        )


if __name__ == "__main__":
    main()
