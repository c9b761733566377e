"""Seed the golden instance (tests/moto_ext/golden.py) in a local AWS; print its id.

    python -m scripts.seed_golden_instance --endpoint-url http://127.0.0.1:5000 [--managed]

With ``--managed`` the instance also gets an instance profile (``bakery-golden-ssm``),
which makes it a managed node of the local Systems Manager (tests/moto_ext/ssm_commands.py),
and the output is one JSON object: the instance id, a subnet for the verify's test
instance and the profile's name. scripts/local-up.sh runs it against the moto server of
tests/moto_ext/server.py.
"""

from __future__ import annotations

import argparse
import json

from providers.aws.clients import make_client
from tests.moto_ext.golden import manage_with_ssm, seed_golden_instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--name", default="golden")
    parser.add_argument("--managed", action="store_true", help="an instance profile for SSM")
    args = parser.parse_args()
    ec2 = make_client("ec2", region=args.region, endpoint_url=args.endpoint_url)
    kms = make_client("kms", region=args.region, endpoint_url=args.endpoint_url)
    instance_id = seed_golden_instance(ec2, kms, name=args.name)
    if not args.managed:
        print(instance_id)
        return
    iam = make_client("iam", region=args.region, endpoint_url=args.endpoint_url)
    profile = manage_with_ssm(ec2, iam, instance_id)
    subnet_id = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    print(json.dumps({"instance_id": instance_id, "subnet_id": subnet_id, "profile": profile}))


if __name__ == "__main__":
    main()
