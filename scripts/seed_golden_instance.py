"""Seed the golden instance (tests/moto_ext/golden.py) in a local AWS; print its id.

    python -m scripts.seed_golden_instance --endpoint-url http://127.0.0.1:5000

scripts/local-up.sh runs it against the moto server of tests/moto_ext/server.py.
"""

from __future__ import annotations

import argparse

from providers.aws.clients import make_client
from tests.moto_ext.golden import seed_golden_instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--name", default="golden")
    args = parser.parse_args()
    ec2 = make_client("ec2", region=args.region, endpoint_url=args.endpoint_url)
    kms = make_client("kms", region=args.region, endpoint_url=args.endpoint_url)
    print(seed_golden_instance(ec2, kms, name=args.name))


if __name__ == "__main__":
    main()
