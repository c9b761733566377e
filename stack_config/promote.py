"""The ``bakery:promote.*`` section: take another stack's image instead of baking, and
share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.rules import validation
from stack_config.keys import key
from stack_config.parse import Reader

ACCOUNT_ID = re.compile(r"^\d{12}$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+$")
# Pulumi stack names: [org/][project/]stack, each part letters, digits, - _ .
STACK_NAME = re.compile(r"^(?:[A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class PromotionConfig:
    """Where the image comes from when not baked here, and who else may launch it."""

    from_stack: str | None = None
    source_region: str | None = None
    copy: bool = False
    kms_key_id: str | None = None
    share_with_accounts: tuple[str, ...] = ()


def load_promotion(
    r: Reader, region: str | None, stack: str | None, project: str | None
) -> PromotionConfig:
    problems = r.problems
    from_stack = r.get("promote.from_stack")
    if from_stack is not None:
        if not STACK_NAME.match(from_stack):
            problems.append(
                InvalidInputError(
                    key("promote.from_stack"),
                    from_stack,
                    "expected a stack name like org/bakery/staging (or bakery/staging, staging)",
                )
            )
        else:
            parts = from_stack.split("/")
            same_project = len(parts) < 2 or project is None or parts[-2] == project
            if stack is not None and parts[-1] == stack and same_project:
                problems.append(
                    InvalidInputError(
                        key("promote.from_stack"),
                        from_stack,
                        "that is this stack; name the stack that tested the image (e.g. staging)",
                    )
                )
    source_region = r.get("promote.source_region")
    problems += validation.check_region(source_region, key("promote.source_region"))
    copy = r.get("promote.copy")
    kms_key_id = r.get("promote.kms_key_id")
    if kms_key_id is not None and not KMS_KEY_ARN.match(kms_key_id):
        problems.append(
            InvalidInputError(
                key("promote.kms_key_id"),
                kms_key_id,
                "expected a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<id>",
            )
        )
    accounts = [_account_text(a) for a in r.get("promote.share_with_accounts")]
    for i, account in enumerate(accounts):
        if isinstance(account, int) and not isinstance(account, bool):
            problems.append(
                InvalidInputError(
                    f"{key('promote.share_with_accounts')}[{i}]",
                    account,
                    'quote account ids ("012345678901"): as numbers they lose leading zeros '
                    "(with `pulumi config set --path`, add `--type string`)",
                )
            )
        elif not isinstance(account, str) or not ACCOUNT_ID.match(account):
            problems.append(
                InvalidInputError(
                    f"{key('promote.share_with_accounts')}[{i}]",
                    account,
                    "expected a 12-digit AWS account id",
                )
            )
    if from_stack is None:
        for name in ("promote.source_region", "promote.copy", "promote.kms_key_id"):
            if r.has(name):
                problems.append(
                    InvalidInputError(
                        key(name),
                        r.values[name],
                        f"it applies only to a promoted image; set {key('promote.from_stack')} "
                        "or remove it",
                    )
                )
    elif source_region is not None and region is None:
        problems.append(
            InvalidInputError(
                "aws:region",
                None,
                f"set aws:region so that {key('promote.source_region')} can be compared "
                "with the region this stack deploys to",
            )
        )
    if (
        kms_key_id is not None
        and from_stack is not None
        and not copy
        and source_region
        in (
            None,
            region,
        )
    ):
        problems.append(
            InvalidInputError(
                key("promote.kms_key_id"),
                kms_key_id,
                f"only a copy is encrypted with it; set {key('promote.copy')} to true",
            )
        )
    return PromotionConfig(
        from_stack=from_stack,
        source_region=source_region,
        copy=bool(copy),
        kms_key_id=kms_key_id,
        share_with_accounts=tuple(a for a in accounts if isinstance(a, str)),
    )


def _account_text(account: Any) -> Any:
    """A 12-digit number as its text: ``pulumi config set --path '...[0]' 123456789012``
    writes it as a YAML number, and with 12 digits no leading zero was lost."""
    if isinstance(account, int) and not isinstance(account, bool) and 10**11 <= account < 10**12:
        return str(account)
    return account
