"""The stack config: every ``bakery:*`` key, read, typed and checked in one place.

A stack bakes (``bakery:bake.*``) or promotes another stack's image
(``bakery:promote.from_stack``), then either stops there (``bakery:mode: bake-only``)
or rolls the image out to a fleet (``bakery:mode: fleet`` and ``bakery:fleet.*``).

Keys may be written flat (``bakery:fleet.min_size: 2``, what ``pulumi config set``
writes) or as one object per section (``bakery:fleet: {min_size: 2}``, what
``pulumi config set --path`` writes). Values arrive from the engine as strings;
numbers, flags, lists and maps are parsed here. Every problem is collected, each an
``InvalidInputError`` naming the full key (``bakery:fleet.min_size``), and raised
once as a ``StackConfigError`` so that ``pulumi preview`` shows them all.

``load(raw)`` is pure (tests call it directly); ``from_pulumi()`` feeds it the
stack's config.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from providers.aws import validation
from providers.aws.errors import InvalidInputError, StackConfigError

NAMESPACE = "bakery"
MODES = ("bake-only", "fleet")
# Mirrors components/image_fleet.py (the config layer may not import components;
# tests/test_stack_config.py checks that the two agree).
LAUNCH_KINDS = ("template", "configuration")
ROLLOUTS = ("rolling", "blue_green")
HEALTH_CHECK_TYPES = ("EC2", "ELB")
SECTIONS = ("bake", "promote", "fleet")

SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+$")
TARGET_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/"
)
# Pulumi stack names: [org/][project/]stack, each part letters, digits, - _ .
STACK_NAME = re.compile(r"^(?:[A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Key:
    """One config key: its type, default and the line the README table shows."""

    kind: str  # "str", "int", "number", "bool", "list", "map"
    default: Any
    doc: str


# Every key Bakery reads, in README order. The README's config table is checked
# against this (tests/test_stack_config.py).
KEYS: dict[str, Key] = {
    "mode": Key("str", "bake-only", "`bake-only` (the image only) or `fleet` (image + fleet)"),
    "bake.instance_id": Key(
        "str", None, "The golden instance to image (required unless promoting)"
    ),
    "bake.name": Key("str", None, "AMI name; default: resource name + short bake id"),
    "bake.description": Key("str", None, "AMI description (at most 255 characters)"),
    "bake.triggers": Key("list", [], "Any change re-bakes, e.g. `[patch-2026-11]`"),
    "bake.stop_instance": Key(
        "bool", True, "Stop the instance for a consistent image (`false`: crash-consistent)"
    ),
    "bake.restore_state": Key("bool", True, "Put the instance back in the state it was found in"),
    "bake.tags": Key("map", {}, "Tags on the AMI and every snapshot"),
    "bake.keep_previous": Key(
        "int", 1, "Replaced AMIs kept registered for rollback (older ones are removed)"
    ),
    "bake.retain_on_delete": Key(
        "bool", False, "On `pulumi destroy`, keep the AMI and its lineage in AWS"
    ),
    "bake.timeouts": Key(
        "map",
        {},
        "Wait deadlines in minutes; defaults `{instance: 15, snapshots: 480, image: 120}`",
    ),
    "bake.endpoint_url": Key(
        "str", None, "A local AWS endpoint (moto) for the bake; never set for real AWS"
    ),
    "promote.from_stack": Key(
        "str", None, "Take `image_id` from this stack (`org/bakery/staging`) instead of baking"
    ),
    "promote.source_region": Key(
        "str", None, "Region of that stack's image; default: this stack's `aws:region`"
    ),
    "promote.copy": Key(
        "bool", False, "Copy the image into this stack (implied when the regions differ)"
    ),
    "promote.kms_key_id": Key("str", None, "KMS key ARN to encrypt the copy with"),
    "promote.share_with_accounts": Key(
        "list", [], "Account ids (quoted) allowed to launch this stack's image"
    ),
    "fleet.instance_type": Key("str", None, "Instance type (required in fleet mode)"),
    "fleet.subnet_ids": Key("list", [], "Subnets to launch into (required in fleet mode)"),
    "fleet.security_group_ids": Key("list", [], "Security groups of the instances"),
    "fleet.key_name": Key("str", None, "EC2 key pair name"),
    "fleet.iam_instance_profile": Key("str", None, "Instance profile name (or ARN)"),
    "fleet.user_data": Key("str", None, "User data, plain text"),
    "fleet.min_size": Key("int", 1, "Group minimum size"),
    "fleet.max_size": Key("int", 1, "Group maximum size"),
    "fleet.desired_capacity": Key("int", None, "Desired capacity; default: `min_size`"),
    "fleet.health_check_type": Key("str", "EC2", "`EC2` or `ELB`"),
    "fleet.health_check_grace_period_s": Key("int", 300, "Health check grace period"),
    "fleet.target_group_arns": Key("list", [], "Load balancer target groups"),
    "fleet.tags": Key("map", {}, "Tags on the group, propagated to its instances"),
    "fleet.launch": Key(
        "str", "template", "`template` or `configuration` (legacy: blue_green only)"
    ),
    "fleet.rollout": Key(
        "str", "rolling", "`rolling` (instance refresh) or `blue_green` (new group per image)"
    ),
    "fleet.min_healthy_percentage": Key("int", 90, "Rolling: share of the fleet kept in service"),
    "fleet.instance_warmup_s": Key("int", None, "Rolling: seconds before a new instance counts"),
    "fleet.checkpoint_percentages": Key(
        "list", [], "Rolling: pause points, ascending, ending at 100, e.g. `[20, 100]`"
    ),
    "fleet.checkpoint_delay_s": Key("int", None, "Rolling: seconds to wait at each checkpoint"),
    "fleet.skip_matching": Key("bool", True, "Rolling: leave instances already on the image alone"),
    "fleet.auto_rollback": Key(
        "bool", True, "Rolling: roll back to the previous version when the refresh fails"
    ),
    "fleet.rollout_timeout_s": Key(
        "number", 3600, "How long `pulumi up` waits for a rollout (AWS carries on after)"
    ),
}


@dataclass(frozen=True)
class BakeConfig:
    """How to bake the golden instance (``BakedImageArgs``)."""

    instance_id: str
    name: str | None = None
    description: str | None = None
    triggers: tuple[Any, ...] = ()
    stop_instance: bool = True
    restore_state: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    keep_previous: int = 1
    retain_on_delete: bool = False
    timeouts: Mapping[str, float] = field(default_factory=dict)
    endpoint_url: str | None = None


@dataclass(frozen=True)
class PromotionConfig:
    """Where the image comes from when not baked here, and who else may launch it."""

    from_stack: str | None = None
    source_region: str | None = None
    copy: bool = False
    kms_key_id: str | None = None
    share_with_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetConfig:
    """The fleet; field names are ``ImageFleetArgs``' own, so it is passed as keywords."""

    instance_type: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()
    key_name: str | None = None
    iam_instance_profile: str | None = None
    user_data: str | None = None
    min_size: int = 1
    max_size: int = 1
    desired_capacity: int | None = None
    health_check_type: str = "EC2"
    health_check_grace_period_s: int = 300
    target_group_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    launch: str = "template"
    rollout: str = "rolling"
    min_healthy_percentage: int = 90
    instance_warmup_s: int | None = None
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True
    rollout_timeout_s: float = 3600.0


@dataclass(frozen=True)
class StackConfig:
    """One stack's config. Exactly one of ``bake`` and ``promotion.from_stack`` is set."""

    mode: str
    region: str | None
    bake: BakeConfig | None
    promotion: PromotionConfig
    fleet: FleetConfig | None
    secret_keys: frozenset[str] = frozenset()
    """Keys set with ``pulumi config set --secret`` (e.g. ``fleet.user_data``)."""

    @property
    def bake_only(self) -> bool:
        return self.mode == "bake-only"

    @property
    def promotes(self) -> bool:
        return self.promotion.from_stack is not None

    @property
    def copies(self) -> bool:
        """The promoted image is copied into this stack (asked for, or another region)."""
        p = self.promotion
        if p.from_stack is None:
            return False
        return p.copy or (p.source_region is not None and p.source_region != self.region)


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def _parsed_number(raw: Any) -> Any:
    """A number written as text (`pulumi config set` stores strings) as a float; else as is."""
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return raw
    return raw


class _Reader:
    """Parses raw values (strings from the engine, or native values) by key kind."""

    def __init__(self, values: Mapping[str, Any], problems: list[InvalidInputError]) -> None:
        self.values = values
        self.problems = problems

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def _bad(self, name: str, found: Any, fix: str) -> None:
        self.problems.append(InvalidInputError(_key(name), found, fix))

    def get(self, name: str) -> Any:
        """The parsed value of ``name`` (its default when unset or unparseable)."""
        spec = KEYS[name]
        raw = self.values.get(name)
        if raw is None:
            return spec.default
        parse: Callable[[str, Any], Any] = getattr(self, f"_{spec.kind}")
        return parse(name, raw)

    def _str(self, name: str, raw: Any) -> Any:
        if isinstance(raw, str):
            return raw.strip() or None
        self._bad(name, raw, "expected text")
        return KEYS[name].default

    def _int(self, name: str, raw: Any) -> Any:
        value = _parsed_number(raw)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            self._bad(name, raw, "expected a whole number")
            return KEYS[name].default
        return int(value)

    def _number(self, name: str, raw: Any) -> Any:
        value = _parsed_number(raw)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(name, raw, "expected a number")
            return KEYS[name].default
        return float(value)

    def _bool(self, name: str, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        self._bad(name, raw, "expected true or false")
        return KEYS[name].default

    def _list(self, name: str, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    self._bad(name, raw, 'expected a list, e.g. ["a", "b"] or a,b')
                    return KEYS[name].default
            else:
                # `pulumi config set bakery:fleet.subnet_ids subnet-a,subnet-b`
                value = [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            self._bad(name, raw, 'expected a list, e.g. ["a", "b"] or a,b')
            return KEYS[name].default
        return list(value)

    def _map(self, name: str, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        if not isinstance(value, Mapping):
            self._bad(name, raw, 'expected a map, e.g. {"team": "web"}')
            return KEYS[name].default
        return dict(value)


def _flatten(raw: Mapping[str, Any], problems: list[InvalidInputError]) -> dict[str, Any]:
    """Section objects (``bake: {...}``) into flat keys (``bake.instance_id``)."""
    flat: dict[str, Any] = {}
    for name, value in raw.items():
        name = name.removeprefix(f"{NAMESPACE}:")
        if name in SECTIONS:
            section = value
            if isinstance(value, str):
                try:
                    section = json.loads(value)
                except ValueError:
                    section = value
            if not isinstance(section, Mapping):
                problems.append(
                    InvalidInputError(
                        _key(name), value, f"expected a map of {name}.* settings, or flat keys"
                    )
                )
                continue
            for sub, sub_value in section.items():
                full = f"{name}.{sub}"
                if full in flat:
                    problems.append(_twice(full))
                flat[full] = sub_value
        else:
            if name in flat:
                problems.append(_twice(name))
            flat[name] = value
    return flat


def _twice(name: str) -> InvalidInputError:
    return InvalidInputError(
        _key(name),
        "set twice",
        f"it is set both flat and inside {_key(name.split('.')[0])}; keep one",
    )


def _unknown(name: str, value: Any) -> InvalidInputError:
    close = difflib.get_close_matches(name, KEYS, n=1)
    hint = f"did you mean {_key(close[0])}? " if close else ""
    return InvalidInputError(
        _key(name),
        value,
        f"not a Bakery setting; {hint}the README's config table lists every key",
    )


def _check_ids(
    values: list[Any], name: str, pattern: re.Pattern[str], example: str
) -> list[InvalidInputError]:
    return [
        InvalidInputError(f"{_key(name)}[{i}]", v, f"expected an id like {example}")
        for i, v in enumerate(values)
        if not isinstance(v, str) or not pattern.match(v)
    ]


def _choice(r: _Reader, name: str, allowed: tuple[str, ...]) -> str:
    value = r.get(name)
    if value not in allowed:
        r.problems.append(InvalidInputError(_key(name), value, f"give one of {', '.join(allowed)}"))
        return str(KEYS[name].default)
    return str(value)


def _load_bake(r: _Reader) -> BakeConfig:
    problems = r.problems
    instance_id = r.get("bake.instance_id")
    problems += validation.check_instance_id(instance_id, _key("bake.instance_id"))
    name = r.get("bake.name")
    if name is not None:
        problems += validation.check_image_name(name, _key("bake.name"))
    description = r.get("bake.description")
    problems += validation.check_description(description, _key("bake.description"))
    triggers = r.get("bake.triggers")
    problems += validation.check_triggers(triggers, _key("bake.triggers"))
    tags = r.get("bake.tags")
    problems += validation.check_tags(tags, _key("bake.tags"))
    timeouts = r.get("bake.timeouts")
    problems += validation.check_timeouts(timeouts, _key("bake.timeouts"))
    endpoint_url = r.get("bake.endpoint_url")
    problems += validation.check_endpoint_url(endpoint_url, _key("bake.endpoint_url"))
    keep_previous = r.get("bake.keep_previous")
    problems += validation.check_count(keep_previous, _key("bake.keep_previous"))
    return BakeConfig(
        instance_id=instance_id or "",
        name=name,
        description=description,
        triggers=tuple(triggers),
        stop_instance=r.get("bake.stop_instance"),
        restore_state=r.get("bake.restore_state"),
        tags=dict(tags),
        keep_previous=keep_previous,
        retain_on_delete=r.get("bake.retain_on_delete"),
        timeouts={k: float(v) for k, v in timeouts.items() if isinstance(v, int | float)},
        endpoint_url=endpoint_url,
    )


def _load_promotion(
    r: _Reader, region: str | None, stack: str | None, project: str | None
) -> PromotionConfig:
    problems = r.problems
    from_stack = r.get("promote.from_stack")
    if from_stack is not None:
        if not STACK_NAME.match(from_stack):
            problems.append(
                InvalidInputError(
                    _key("promote.from_stack"),
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
                        _key("promote.from_stack"),
                        from_stack,
                        "that is this stack; name the stack that tested the image (e.g. staging)",
                    )
                )
    source_region = r.get("promote.source_region")
    problems += validation.check_region(source_region, _key("promote.source_region"))
    copy = r.get("promote.copy")
    kms_key_id = r.get("promote.kms_key_id")
    if kms_key_id is not None and not KMS_KEY_ARN.match(kms_key_id):
        problems.append(
            InvalidInputError(
                _key("promote.kms_key_id"),
                kms_key_id,
                "expected a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<id>",
            )
        )
    accounts = r.get("promote.share_with_accounts")
    for i, account in enumerate(accounts):
        if isinstance(account, int) and not isinstance(account, bool):
            problems.append(
                InvalidInputError(
                    f"{_key('promote.share_with_accounts')}[{i}]",
                    account,
                    'quote account ids ("012345678901"): as numbers they lose leading zeros',
                )
            )
        elif not isinstance(account, str) or not ACCOUNT_ID.match(account):
            problems.append(
                InvalidInputError(
                    f"{_key('promote.share_with_accounts')}[{i}]",
                    account,
                    "expected a 12-digit AWS account id",
                )
            )
    if from_stack is None:
        for name in ("promote.source_region", "promote.copy", "promote.kms_key_id"):
            if r.has(name):
                problems.append(
                    InvalidInputError(
                        _key(name),
                        r.values[name],
                        f"it applies only to a promoted image; set {_key('promote.from_stack')} "
                        "or remove it",
                    )
                )
    elif source_region is not None and region is None:
        problems.append(
            InvalidInputError(
                "aws:region",
                None,
                f"set aws:region so that {_key('promote.source_region')} can be compared "
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
                _key("promote.kms_key_id"),
                kms_key_id,
                f"only a copy is encrypted with it; set {_key('promote.copy')} to true",
            )
        )
    return PromotionConfig(
        from_stack=from_stack,
        source_region=source_region,
        copy=bool(copy),
        kms_key_id=kms_key_id,
        share_with_accounts=tuple(a for a in accounts if isinstance(a, str)),
    )


def _load_fleet(r: _Reader) -> FleetConfig:
    problems = r.problems
    instance_type = r.get("fleet.instance_type")
    if instance_type is None:
        problems.append(
            InvalidInputError(
                _key("fleet.instance_type"),
                None,
                f"required in fleet mode (e.g. t3.micro), or set {_key('mode')} to bake-only",
            )
        )
    subnet_ids = r.get("fleet.subnet_ids")
    if not subnet_ids:
        problems.append(
            InvalidInputError(
                _key("fleet.subnet_ids"),
                subnet_ids,
                "required in fleet mode: one subnet per availability zone, e.g. "
                '["subnet-0123456789abcdef0"]',
            )
        )
    problems += _check_ids(subnet_ids, "fleet.subnet_ids", SUBNET_ID, "subnet-0123456789abcdef0")
    groups = r.get("fleet.security_group_ids")
    problems += _check_ids(
        groups, "fleet.security_group_ids", SECURITY_GROUP_ID, "sg-0123456789abcdef0"
    )
    target_groups = r.get("fleet.target_group_arns")
    problems += _check_ids(
        target_groups,
        "fleet.target_group_arns",
        TARGET_GROUP_ARN,
        "arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>",
    )
    min_size = r.get("fleet.min_size")
    max_size = r.get("fleet.max_size")
    desired = r.get("fleet.desired_capacity")
    problems += validation.check_count(min_size, _key("fleet.min_size"))
    problems += validation.check_count(max_size, _key("fleet.max_size"))
    if min_size > max_size:
        problems.append(
            InvalidInputError(
                _key("fleet.min_size"),
                min_size,
                f"{_key('fleet.max_size')} is {max_size}; make min_size <= max_size",
            )
        )
    elif desired is not None and not min_size <= desired <= max_size:
        problems.append(
            InvalidInputError(
                _key("fleet.desired_capacity"),
                desired,
                f"give a value within [min_size, max_size] = [{min_size}, {max_size}]",
            )
        )
    health_check_type = _choice(r, "fleet.health_check_type", HEALTH_CHECK_TYPES)
    grace = r.get("fleet.health_check_grace_period_s")
    problems += validation.check_count(
        grace, _key("fleet.health_check_grace_period_s"), maximum=7200
    )
    launch = _choice(r, "fleet.launch", LAUNCH_KINDS)
    rollout = _choice(r, "fleet.rollout", ROLLOUTS)
    if rollout == "rolling" and launch == "configuration":
        problems.append(
            InvalidInputError(
                _key("fleet.rollout"),
                rollout,
                f"a rolling instance refresh needs {_key('fleet.launch')} template; "
                "with a launch configuration use blue_green",
            )
        )
    min_healthy = r.get("fleet.min_healthy_percentage")
    problems += validation.check_count(
        min_healthy, _key("fleet.min_healthy_percentage"), maximum=100
    )
    warmup = r.get("fleet.instance_warmup_s")
    if warmup is not None:
        problems += validation.check_count(warmup, _key("fleet.instance_warmup_s"), maximum=86400)
    delay = r.get("fleet.checkpoint_delay_s")
    if delay is not None:
        problems += validation.check_count(delay, _key("fleet.checkpoint_delay_s"), maximum=172800)
    points = r.get("fleet.checkpoint_percentages")
    if points and (
        any(isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 100 for p in points)
        or points != sorted(set(points))
        or points[-1] != 100
    ):
        problems.append(
            InvalidInputError(
                _key("fleet.checkpoint_percentages"),
                points,
                "give unique, ascending percentages from 1 to 100 ending at 100 (e.g. [20, 100])",
            )
        )
    timeout = r.get("fleet.rollout_timeout_s")
    if timeout <= 0:
        problems.append(
            InvalidInputError(
                _key("fleet.rollout_timeout_s"), timeout, "give seconds above 0 (e.g. 3600)"
            )
        )
    tags = r.get("fleet.tags")
    problems += validation.check_tags(tags, _key("fleet.tags"))
    return FleetConfig(
        instance_type=instance_type or "",
        subnet_ids=tuple(subnet_ids),
        security_group_ids=tuple(groups),
        key_name=r.get("fleet.key_name"),
        iam_instance_profile=r.get("fleet.iam_instance_profile"),
        user_data=r.get("fleet.user_data"),
        min_size=min_size,
        max_size=max_size,
        desired_capacity=desired,
        health_check_type=health_check_type,
        health_check_grace_period_s=grace,
        target_group_arns=tuple(target_groups),
        tags=dict(tags),
        launch=launch,
        rollout=rollout,
        min_healthy_percentage=min_healthy,
        instance_warmup_s=warmup,
        checkpoint_percentages=tuple(p for p in points if isinstance(p, int)),
        checkpoint_delay_s=delay,
        skip_matching=r.get("fleet.skip_matching"),
        auto_rollback=r.get("fleet.auto_rollback"),
        rollout_timeout_s=float(timeout),
    )


def load(
    raw: Mapping[str, Any],
    *,
    region: str | None = None,
    stack: str | None = None,
    project: str | None = None,
    secret_keys: Iterable[str] = (),
) -> StackConfig:
    """Read and check a stack's ``bakery:*`` config.

    Args:
        raw: the config values by key, with or without the ``bakery:`` prefix; values
            as the engine sends them (strings) or already parsed.
        region: the stack's ``aws:region`` (None: the AWS default chain decides).
        stack: this stack's name, to refuse promoting from itself.
        project: this project's name, likewise.
        secret_keys: the keys of ``raw`` that are secrets; a secret section
            (``bakery:fleet``) makes each of its keys secret.

    Returns:
        The typed config.

    Raises:
        StackConfigError: with every problem found, each naming its key.
    """
    problems: list[InvalidInputError] = []
    values = _flatten(raw, problems)
    problems += [_unknown(name, value) for name, value in values.items() if name not in KEYS]
    r = _Reader({k: v for k, v in values.items() if k in KEYS}, problems)
    problems += validation.check_region(region, "aws:region")

    mode = _choice(r, "mode", MODES)
    promotes = r.has("promote.from_stack")
    promotion = _load_promotion(r, region, stack, project)

    bake: BakeConfig | None = None
    bake_keys = sorted(k for k in values if k.startswith("bake.") and k in KEYS)
    if promotes:
        if r.has("bake.instance_id"):
            problems.append(
                InvalidInputError(
                    _key("bake.instance_id"),
                    values["bake.instance_id"],
                    f"{_key('promote.from_stack')} is set too; a stack either bakes its "
                    "image from an instance or promotes another stack's image: remove "
                    f"{_key('bake.instance_id')} or {_key('promote.from_stack')}",
                )
            )
        problems += [
            InvalidInputError(
                _key(name),
                values[name],
                f"nothing is baked when {_key('promote.from_stack')} is set; remove it",
            )
            for name in bake_keys
            if name != "bake.instance_id"
        ]
    elif not r.has("bake.instance_id"):
        problems.append(
            InvalidInputError(
                _key("bake.instance_id"),
                None,
                "required: the golden instance to bake (pulumi config set "
                f"{_key('bake.instance_id')} i-...), or set {_key('promote.from_stack')} "
                "to take the image of another stack",
            )
        )
    else:
        bake = _load_bake(r)

    fleet: FleetConfig | None = None
    fleet_keys = sorted(k for k in values if k.startswith("fleet.") and k in KEYS)
    if mode == "fleet":
        fleet = _load_fleet(r)
        if bake is not None and bake.endpoint_url is not None:
            problems.append(
                InvalidInputError(
                    _key("bake.endpoint_url"),
                    bake.endpoint_url,
                    "the fleet's resources go to real AWS, the bake to this endpoint; "
                    f"use {_key('mode')} bake-only against a local endpoint",
                )
            )
    else:
        problems += [
            InvalidInputError(
                _key(name),
                values[name],
                f"{_key('mode')} is bake-only, so no fleet is built; set {_key('mode')} "
                "to fleet or remove it",
            )
            for name in fleet_keys
        ]

    if problems:
        raise StackConfigError(problems)
    secrets = {name.removeprefix(f"{NAMESPACE}:") for name in secret_keys}
    return StackConfig(
        mode=mode,
        region=region,
        bake=bake,
        promotion=promotion,
        fleet=fleet,
        secret_keys=frozenset(
            name for name in values if name in secrets or name.split(".")[0] in secrets
        ),
    )


def _bakery_config() -> tuple[dict[str, Any], list[str]]:
    """Every ``bakery:*`` key of the stack as the engine passed it (strings), and the
    secret ones."""
    from pulumi.runtime import config as runtime_config

    names = {
        k
        for k in (*runtime_config.get_config_env(), *runtime_config.CONFIG.get())
        if k.startswith(f"{NAMESPACE}:")
    }
    config = pulumi.Config(NAMESPACE)
    values = {name: config.get(name.removeprefix(f"{NAMESPACE}:")) for name in sorted(names)}
    return values, [name for name in names if runtime_config.is_config_secret(name)]


def from_pulumi() -> StackConfig:
    """The running stack's config (``bakery:*`` and ``aws:region``).

    Raises:
        StackConfigError: with every problem found, each naming its key.
    """
    values, secret_keys = _bakery_config()
    return load(
        values,
        region=pulumi.Config("aws").get("region"),
        stack=pulumi.get_stack(),
        project=pulumi.get_project(),
        secret_keys=secret_keys,
    )
