"""Whether a KMS key policy (and the key's grants) let a principal use the key: a pure rule.

AWS KMS developer guide, "Key policies" and "Allowing users in other accounts to use a
KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html):
no principal may use a key unless the key policy (or a grant) allows it and nothing
denies it; an explicit Deny wins over every Allow and grant. A statement naming an
account's root (``arn:aws:iam::111122223333:root`` or ``111122223333``) lets that
account's IAM policies delegate the use: for another account that is what sharing an
encrypted image needs. An AWS service-linked role, whose IAM policy AWS fixes, gains
nothing from its account's root: it needs its own ARN in the policy or a grant (AWS
knowledge center "kms-launch-ec2-instance"). Grants (developer guide, "Grants in AWS
KMS") allow the operations they list to their grantee.

Conditions are evaluated where Bakery knows the value (``aws:PrincipalOrgID``,
``aws:PrincipalOrgPaths``, ``aws:PrincipalAccount``, ``kms:CallerAccount``,
``aws:PrincipalArn``, ``kms:ViaService``, ``kms:GrantIsForAWSResource``, with the
String*, Arn* and Bool operators). Any other condition is *undecided*: an Allow it
guards does not count, a Deny it guards may apply, and the verdict names the condition
(the safe side: Bakery never claims a use is allowed that it could not prove).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What another account needs to launch an image whose snapshots use the key (EC2 User
# Guide, "Share an AMI with specific AWS accounts"; the four the issue names, ReEncrypt*
# being ReEncryptFrom and ReEncryptTo).
SHARE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# The operations Auto Scaling's service-linked role needs (knowledge center
# "kms-launch-ec2-instance": the grant it shows).
AUTOSCALING_GRANT_OPERATIONS = (
    "Decrypt",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "DescribeKey",
)
AUTOSCALING_ACTIONS = tuple(f"kms:{op}" for op in AUTOSCALING_GRANT_OPERATIONS)
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Principal:
    """Who would use the key: an account, a role, an organization or an OU."""

    label: str
    """How messages name it (the account id, role ARN or organization ARN)."""
    account: str | None = None
    arn: str | None = None
    """A role's ARN; None for an account as a whole."""
    root_counts: bool = True
    """Whether a statement naming the account's root lets this principal use the key
    (an account: yes; a service-linked role: no)."""
    org_id: str | None = None
    ou_id: str | None = None
    via_services: tuple[str, ...] = ()
    """The services the use goes through (``ec2.<region>.amazonaws.com``)."""


def account_principal(account: str, via_services: Sequence[str] = ()) -> Principal:
    return Principal(label=account, account=account, via_services=tuple(via_services))


def role_principal(role_arn: str, via_services: Sequence[str] = ()) -> Principal:
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else None
    return Principal(
        label=role_arn,
        account=account,
        arn=role_arn,
        root_counts=False,
        via_services=tuple(via_services),
    )


def organization_principal(arn: str, via_services: Sequence[str] = ()) -> Principal:
    """An organization ARN (``…:organization/o-x``) or OU ARN (``…:ou/o-x/ou-y``)."""
    parts = arn.split(":", 5)[-1].split("/")
    org_id = next((p for p in parts if p.startswith("o-")), None)
    ou_id = parts[-1] if parts[0] == "ou" else None
    return Principal(label=arn, org_id=org_id, ou_id=ou_id, via_services=tuple(via_services))


@dataclass(frozen=True)
class Verdict:
    """What the policy and grants allow ``principal`` of ``actions``."""

    principal: Principal
    allowed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """Actions nothing allows, or a Deny refuses."""
    undecided: tuple[str, ...] = ()
    """Conditions Bakery cannot evaluate, on which an action's verdict rests."""
    undecided_actions: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.missing and not self.undecided_actions


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _matches_any(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in patterns)


def _principal_matches(statement: Mapping[str, Any], who: Principal) -> bool | None:
    """Whether the statement's Principal names ``who``; None: NotPrincipal (undecided)."""
    if "NotPrincipal" in statement:
        return None
    given = statement.get("Principal")
    if given == "*":
        return True
    if not isinstance(given, Mapping):
        return False
    for entry in _listed(given.get("AWS")):
        entry = str(entry)
        if entry == "*":
            return True
        if who.arn and entry == who.arn:
            return True
        root = who.account and entry in (who.account, f"arn:aws:iam::{who.account}:root")
        if root and who.root_counts:
            return True
    return False


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches_any(action, _listed(statement["NotAction"]))
    return _matches_any(action, _listed(statement.get("Action")))


def _context(who: Principal, key: str) -> list[str] | None:
    """The request's value(s) for a condition key, or None when Bakery cannot know it."""
    key = key.lower()
    if key == "aws:principalorgid":
        return [who.org_id] if who.org_id else None
    if key == "aws:principalorgpaths" and who.org_id and who.ou_id:
        return [f"{who.org_id}/r-*/{who.ou_id}/"]
    if key in ("aws:principalaccount", "kms:calleraccount"):
        return [who.account] if who.account else None
    if key == "aws:principalarn":
        return [who.arn] if who.arn else None
    if key == "kms:viaservice":
        return list(who.via_services) or None
    if key == "kms:grantisforawsresource":
        return ["true"]  # EC2 and Auto Scaling create grants for their resources
    return None


def _string_match(operator: str, seen: str, wanted: str) -> bool:
    if operator.startswith("Arn") or "Like" in operator:
        if "/r-*/" in seen:  # an OU path whose root id Bakery does not know
            root = re.search(r"/r-[0-9a-z]+/", wanted)
            seen = seen.replace("/r-*/", root.group(0) if root else "/r-root/")
            wanted = wanted.replace("/r-*/", "/r-root/") if not root else wanted
        return fnmatch.fnmatchcase(seen.lower(), wanted.lower())
    if operator.endswith("IgnoreCase"):
        return seen.lower() == wanted.lower()
    return seen == wanted


def _condition_holds(condition: Mapping[str, Any], who: Principal) -> tuple[bool | None, str]:
    """True, False, or None (undecided) with the condition Bakery could not evaluate."""
    for raw_operator, tests in condition.items():
        operator = raw_operator.split(":")[-1]
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        negated = "Not" in operator
        base = operator.replace("Not", "")
        supported = base in ("StringEquals", "StringLike", "StringEqualsIgnoreCase")
        supported = supported or base in ("ArnEquals", "ArnLike", "Bool")
        for key, wanted in dict(tests).items():
            seen = _context(who, str(key))
            if not supported or seen is None:
                if seen is None and if_exists and supported:
                    continue
                return None, f"{raw_operator} {key}"
            values = [str(v).lower() if base == "Bool" else str(v) for v in _listed(wanted)]
            hit = any(_string_match(base, s, v) for s in seen for v in values)
            if hit == negated:
                return False, ""
    return True, ""


def _grant_allows(grants: Sequence[Mapping[str, Any]], who: Principal, action: str) -> bool:
    operation = action.split(":", 1)[1]
    names = {who.arn} if who.arn else set()
    if who.account and who.root_counts:
        names |= {who.account, f"arn:aws:iam::{who.account}:root"}
    return any(
        g.get("GranteePrincipal") in names
        and operation in (g.get("Operations") or [])
        and not g.get("Constraints")  # constrained grants: the context is not known
        for g in grants
    )


def evaluate(
    policy: str | Mapping[str, Any],
    who: Principal,
    actions: Sequence[str],
    grants: Sequence[Mapping[str, Any]] = (),
) -> Verdict:
    """What ``policy`` (a key policy document, JSON text or parsed) and ``grants``
    (ListGrants entries) allow ``who`` of ``actions``.

    Returns:
        A Verdict: allowed, missing (not allowed, or denied) and undecided actions, with
        the conditions Bakery could not evaluate.
    """
    document = json.loads(policy) if isinstance(policy, str) else dict(policy)
    statements = _listed(document.get("Statement"))
    allowed: list[str] = []
    missing: list[str] = []
    undecided_actions: list[str] = []
    unknown: list[str] = []
    for action in actions:
        verdicts: dict[str, list[bool | None]] = {"Allow": [], "Deny": []}
        for statement in statements:
            if not _action_matches(statement, action):
                continue
            named = _principal_matches(statement, who)
            if named is False:
                continue
            holds, what = _condition_holds(dict(statement.get("Condition") or {}), who)
            if named is None:
                holds, what = None, "NotPrincipal"
            if holds is None:
                unknown.append(what)
            effect = "Deny" if statement.get("Effect") == "Deny" else "Allow"
            verdicts[effect].append(holds)
        if True in verdicts["Deny"]:
            missing.append(action)
        elif None in verdicts["Deny"]:
            undecided_actions.append(action)
        elif True in verdicts["Allow"] or _grant_allows(grants, who, action):
            allowed.append(action)
        elif None in verdicts["Allow"]:
            undecided_actions.append(action)
        else:
            missing.append(action)
    return Verdict(
        principal=who,
        allowed=tuple(allowed),
        missing=tuple(missing),
        undecided=tuple(dict.fromkeys(u for u in unknown if u)),
        undecided_actions=tuple(undecided_actions),
    )


def is_account(value: str) -> bool:
    return bool(_ACCOUNT.match(value))
