"""Input rules for a bake, as pure functions: each returns the problems it finds.

Used by the provider's ``check`` (so preview fails before anything is touched) and
by the stack config loader. Rules cite AWS's documented limits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.aws.errors import InvalidInputError
from providers.aws.tags import PREFIX

INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
IMAGE_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
# AMI names: 3-128 characters of letters, digits, ( ) [ ] space . / - ' @ _
# (EC2 API reference, RegisterImage, "Name").
IMAGE_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
IMAGE_NAME_CHAR = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]")
REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
MAX_DESCRIPTION = 255
MAX_TAGS = 50
# Bakery writes up to this many tags of its own on an image: bake-id, lineage,
# source-instance, baked-at, downtime-seconds, retired-at, deregistration-protection and
# (on a copy) copy-of. Each promoting stack's hold adds one more.
BAKERY_TAG_COUNT = 8
TIMEOUT_KEYS = ("instance", "snapshots", "image")

Problems = list[InvalidInputError]


def check_instance_id(value: Any, field: str = "instance_id") -> Problems:
    """An EC2 instance id: ``i-`` and 8 or 17 hex digits."""
    if isinstance(value, str) and INSTANCE_ID.match(value):
        return []
    return [InvalidInputError(field, value, "expected an EC2 instance id like i-0123456789abcdef0")]


def check_image_id(value: Any, field: str = "image_id") -> Problems:
    """An AMI id: ``ami-`` and 8 or 17 hex digits."""
    if isinstance(value, str) and IMAGE_ID.match(value):
        return []
    return [InvalidInputError(field, value, "expected an AMI id like ami-0123456789abcdef0")]


def check_image_name(value: Any, field: str = "name") -> Problems:
    """An AMI name AWS accepts."""
    if not isinstance(value, str):
        return [InvalidInputError(field, value, "expected a string")]
    if not 3 <= len(value) <= 128:
        return [
            InvalidInputError(
                field, value, f"an AMI name has 3 to 128 characters, this has {len(value)}"
            )
        ]
    bad = sorted({c for c in value if not IMAGE_NAME_CHAR.match(c)})
    if bad:
        return [
            InvalidInputError(
                field,
                value,
                f"characters {''.join(bad)!r} are not allowed; use letters, digits, "
                "spaces and ( ) [ ] . / - ' @ _",
            )
        ]
    return []


def safe_image_name(text: str) -> str:
    """``text`` with every character AWS refuses in an AMI name replaced by ``-``."""
    return "".join(c if IMAGE_NAME_CHAR.match(c) else "-" for c in text)


def check_description(value: Any, field: str = "description") -> Problems:
    """An AMI description: at most 255 characters."""
    if value is None:
        return []
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        fix = f"expected text of at most {MAX_DESCRIPTION} characters"
        return [InvalidInputError(field, value, fix)]
    return []


def check_region(value: Any, field: str = "region") -> Problems:
    """An AWS region name, or None for the default chain."""
    if value is None or (isinstance(value, str) and REGION.match(value)):
        return []
    return [InvalidInputError(field, value, "expected an AWS region name like us-east-1")]


def check_endpoint_url(value: Any, field: str = "endpoint_url") -> Problems:
    """A plain http(s) URL with no credentials in it (it is stored in state)."""
    if value is None:
        return []
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return [InvalidInputError(field, value, "expected a URL like http://127.0.0.1:5000")]
    if parts.username or parts.password:
        return [
            InvalidInputError(
                field, "<redacted>", "remove the credentials from the URL; they would be stored"
            )
        ]
    return []


def check_count(value: Any, field: str, *, minimum: int = 0, maximum: int = 1000) -> Problems:
    """A whole number in ``[minimum, maximum]`` (Pulumi sends numbers as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return [InvalidInputError(field, value, "expected a whole number")]
    if not minimum <= value <= maximum:
        return [InvalidInputError(field, value, f"expected {minimum} to {maximum}")]
    return []


def check_bool(value: Any, field: str) -> Problems:
    """A true/false flag."""
    if isinstance(value, bool):
        return []
    return [InvalidInputError(field, value, "expected true or false")]


def check_tags(value: Any, field: str = "tags") -> Problems:
    """User tags: string keys and values within AWS's limits, no reserved prefixes."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [InvalidInputError(field, value, "expected a map of tag keys to values")]
    problems: Problems = []
    if len(value) > MAX_TAGS - BAKERY_TAG_COUNT:
        problems.append(
            InvalidInputError(
                field,
                f"{len(value)} tags",
                f"AWS allows {MAX_TAGS} tags per resource and Bakery uses {BAKERY_TAG_COUNT}; "
                f"use at most {MAX_TAGS - BAKERY_TAG_COUNT}",
            )
        )
    for key, val in value.items():
        where = f"{field}.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            problems.append(InvalidInputError(where, key, "a tag key has 1 to 128 characters"))
        elif key.startswith(("aws:", PREFIX)):
            problems.append(
                InvalidInputError(where, key, "keys starting aws: or bakery: are reserved")
            )
        if not isinstance(val, str) or len(val) > 256:
            problems.append(InvalidInputError(where, val, "a tag value is text of 0-256 chars"))
    return problems


def check_triggers(value: Any, field: str = "triggers") -> Problems:
    """A list of plain values (strings, numbers, booleans)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return [InvalidInputError(field, value, 'expected a list, e.g. ["patch-2026-11"]')]
    return [
        InvalidInputError(f"{field}[{i}]", item, "expected a string, number or boolean")
        for i, item in enumerate(value)
        if not isinstance(item, str | int | float | bool)
    ]


def check_timeouts(value: Any, field: str = "timeouts") -> Problems:
    """Wait deadlines in minutes: keys instance, snapshots, image."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [InvalidInputError(field, value, f"expected a map with keys {TIMEOUT_KEYS}")]
    problems: Problems = []
    for key, minutes in value.items():
        where = f"{field}.{key}"
        if key not in TIMEOUT_KEYS:
            problems.append(InvalidInputError(where, key, f"known keys are {TIMEOUT_KEYS}"))
        elif isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
            problems.append(InvalidInputError(where, minutes, "expected minutes > 0"))
    return problems


# --- lifecycle inputs (providers/aws/images/lifecycle.py) -----------------------------------

ACCOUNT_ID = re.compile(r"^\d{12}$")
# Launch permission ARNs (EC2 Image Builder API reference, LaunchPermissionConfiguration,
# the patterns ModifyImageAttribute accepts).
ORGANIZATION_ARN = re.compile(
    r"^arn:aws[a-z-]*:organizations::\d{12}:organization/o-[a-z0-9]{10,32}$"
)
OU_ARN = re.compile(
    r"^arn:aws[a-z-]*:organizations::\d{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$"
)
KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+$")
KMS_ID = re.compile(
    r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias/[A-Za-z0-9/_-]+)$"
)
# EnableImageDeprecation: DeprecateAt at most 10 years ahead (EC2 API reference).
MAX_DEPRECATE_DAYS = 3650


def _id_list(value: Any, field: str, pattern: re.Pattern[str], example: str) -> Problems:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return [InvalidInputError(field, value, f'expected a list, e.g. ["{example}"]')]
    return [
        InvalidInputError(f"{field}[{i}]", item, f"expected an id like {example} (as text)")
        for i, item in enumerate(value)
        if not isinstance(item, str) or not pattern.match(item)
    ]


def check_account_ids(value: Any, field: str = "share_with_accounts") -> Problems:
    """AWS account ids: 12 digits, as text."""
    return _id_list(value, field, ACCOUNT_ID, "123456789012")


def check_organization_arns(value: Any, field: str = "share_with_organizations") -> Problems:
    """AWS Organizations organization ARNs."""
    return _id_list(
        value,
        field,
        ORGANIZATION_ARN,
        "arn:aws:organizations::123456789012:organization/o-abc1234567",
    )


def check_ou_arns(value: Any, field: str = "share_with_organizational_units") -> Problems:
    """AWS Organizations organizational unit ARNs."""
    return _id_list(
        value,
        field,
        OU_ARN,
        "arn:aws:organizations::123456789012:ou/o-abc1234567/ou-ab12-cdef3456",
    )


@functools.cache
def known_regions() -> frozenset[str]:
    """Every EC2 region botocore knows, in every partition.

    Read once per process: botocore's bundled endpoint and service data do not change
    while it runs, and reading them (a new session, endpoints.json, the ec2 model)
    cost about 0.18 s of CPU, paid on every check before (bench/check_cost.py).
    """
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def check_copy_regions(value: Any, home_region: Any, field: str = "copy_to_regions") -> Problems:
    """A map of region -> KMS key (ARN in that region, key id, alias, or empty)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [
            InvalidInputError(
                field, value, 'expected a map of region to KMS key, e.g. {"eu-west-1": null}'
            )
        ]
    if not value:
        return []
    problems: Problems = []
    regions = known_regions()
    for region, kms_key in value.items():
        where = f"{field}.{region}"
        if not isinstance(region, str) or region not in regions:
            problems.append(
                InvalidInputError(where, region, "not an AWS region; use a name like eu-west-1")
            )
            continue
        if region == home_region:
            problems.append(
                InvalidInputError(
                    where, region, "this is the bake's own region; list other regions only"
                )
            )
        if kms_key in (None, ""):
            continue
        arn = KMS_ARN.match(kms_key) if isinstance(kms_key, str) else None
        if arn is None and not (isinstance(kms_key, str) and KMS_ID.match(kms_key)):
            problems.append(
                InvalidInputError(where, kms_key, "expected a KMS key ARN, key id or alias/name")
            )
        elif arn is not None and arn.group(1) != region:
            problems.append(
                InvalidInputError(
                    where,
                    kms_key,
                    f"the key is in {arn.group(1)}; a copy to {region} needs a key in {region}",
                )
            )
    return problems


def check_days(value: Any, field: str, *, maximum: float = MAX_DEPRECATE_DAYS) -> Problems:
    """A number of days > 0 (None: not set)."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [InvalidInputError(field, value, "expected a number of days")]
    if not 0 < value <= maximum:
        return [
            InvalidInputError(field, value, f"expected more than 0 and at most {maximum:g} days")
        ]
    return []
