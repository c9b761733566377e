"""The ``bakery:bake.*`` section: how to bake the golden instance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.rules import bake_steps, validation
from providers.aws.rules.bake_plan import CONSISTENCY_MODES
from stack_config.keys import key
from stack_config.parse import Reader, choice


@dataclass(frozen=True)
class BakeConfig:
    """How to bake the golden instance (``BakedImageArgs``)."""

    instance_id: str
    name: str | None = None
    description: str | None = None
    triggers: tuple[Any, ...] = ()
    consistency: str = "stop"
    restore_state: bool = True
    allow_instance_store_loss: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    keep_previous: int = 1
    retain_on_delete: bool = False
    timeouts: Mapping[str, float] = field(default_factory=dict)
    endpoint_url: str | None = None
    deprecate_after_days: float | None = None
    deregistration_protection: bool = False
    deregistration_protection_cooldown: bool = False
    share_with_accounts: tuple[str, ...] = ()
    share_with_organizations: tuple[str, ...] = ()
    share_with_organizational_units: tuple[str, ...] = ()
    copy_to_regions: Mapping[str, str | None] = field(default_factory=dict)
    snapshot_tags: Mapping[str, str] = field(default_factory=dict)
    prune_shared: bool = False
    keep_launched_within_days: float | None = None
    reencrypt_with: str | None = None
    patch: Mapping[str, Any] | None = None
    rebake_on: tuple[str, ...] = ()
    prepare: Mapping[str, Any] | None = None
    restore: Mapping[str, Any] | None = None
    verify: Mapping[str, Any] | None = None


def _cycle(r: Reader) -> dict[str, Any]:
    """The steps around the image (patch, prepare, restore, verify, rebake_on), each
    judged by ``bake_steps`` and passed on as given (the provider judges them again)."""
    values: dict[str, Any] = {}
    for name, judge in (
        ("patch", bake_steps.patch_of),
        ("prepare", bake_steps.command_of),
        ("restore", bake_steps.command_of),
        ("verify", bake_steps.verify_of),
    ):
        value = r.get(f"bake.{name}")
        r.problems.extend(judge(value, key(f"bake.{name}"))[1])
        values[name] = value
    rebake_on, problems = bake_steps.rebake_on_of(r.get("bake.rebake_on"), key("bake.rebake_on"))
    r.problems.extend(problems)
    values["rebake_on"] = rebake_on
    return values


def _reencrypt_with(r: Reader) -> str | None:
    """``bake.reencrypt_with``: a KMS key id, ARN or alias (or unset)."""
    value = r.get("bake.reencrypt_with")
    if value is not None and (not str(value).strip() or " " in str(value)):
        r.problems.append(
            InvalidInputError(
                key("bake.reencrypt_with"), value, "give a KMS key id, key ARN or alias"
            )
        )
    return value


def _lifecycle(r: Reader) -> dict[str, Any]:
    """The lifecycle keys (providers/lifecycle.py), each checked by validation's rule."""
    problems = r.problems
    values = {name: r.get(f"bake.{name}") for name in LIFECYCLE_KEYS}
    problems += validation.check_account_ids(
        values["share_with_accounts"], key("bake.share_with_accounts")
    )
    problems += validation.check_organization_arns(
        values["share_with_organizations"], key("bake.share_with_organizations")
    )
    problems += validation.check_ou_arns(
        values["share_with_organizational_units"], key("bake.share_with_organizational_units")
    )
    # The bake's own region is refused by the provider's check (it knows the region).
    problems += validation.check_copy_regions(
        values["copy_to_regions"], None, key("bake.copy_to_regions")
    )
    problems += validation.check_tags(values["snapshot_tags"], key("bake.snapshot_tags"))
    problems += validation.check_days(
        values["deprecate_after_days"], key("bake.deprecate_after_days")
    )
    problems += validation.check_days(
        values["keep_launched_within_days"], key("bake.keep_launched_within_days"), maximum=36500
    )
    for name in (
        "share_with_accounts",
        "share_with_organizations",
        "share_with_organizational_units",
    ):
        values[name] = tuple(values[name])
    return values


LIFECYCLE_KEYS = (
    "deprecate_after_days",
    "deregistration_protection",
    "deregistration_protection_cooldown",
    "share_with_accounts",
    "share_with_organizations",
    "share_with_organizational_units",
    "copy_to_regions",
    "snapshot_tags",
    "prune_shared",
    "keep_launched_within_days",
)


def _consistency(r: Reader) -> str:
    """``bake.consistency``, or the deprecated ``bake.stop_instance`` it replaces."""
    mode = choice(r, "bake.consistency", CONSISTENCY_MODES)
    legacy = r.get("bake.stop_instance")
    if legacy is None:
        return mode
    implied = "stop" if legacy else "live"
    if r.has("bake.consistency") and mode != implied:
        r.problems.append(
            InvalidInputError(
                key("bake.stop_instance"),
                legacy,
                f"it means consistency {implied}, but {key('bake.consistency')} is {mode}; "
                f"remove {key('bake.stop_instance')} (deprecated)",
            )
        )
    return mode if r.has("bake.consistency") else implied


def load_bake(r: Reader) -> BakeConfig:
    problems = r.problems
    instance_id = r.get("bake.instance_id")
    problems += validation.check_instance_id(instance_id, key("bake.instance_id"))
    name = r.get("bake.name")
    if name is not None:
        problems += validation.check_image_name(name, key("bake.name"))
    description = r.get("bake.description")
    problems += validation.check_description(description, key("bake.description"))
    triggers = r.get("bake.triggers")
    problems += validation.check_triggers(triggers, key("bake.triggers"))
    tags = r.get("bake.tags")
    problems += validation.check_tags(tags, key("bake.tags"))
    timeouts = r.get("bake.timeouts")
    problems += validation.check_timeouts(timeouts, key("bake.timeouts"))
    endpoint_url = r.get("bake.endpoint_url")
    problems += validation.check_endpoint_url(endpoint_url, key("bake.endpoint_url"))
    keep_previous = r.get("bake.keep_previous")
    problems += validation.check_count(keep_previous, key("bake.keep_previous"))
    consistency = _consistency(r)
    return BakeConfig(
        instance_id=instance_id or "",
        name=name,
        description=description,
        triggers=tuple(triggers),
        consistency=consistency,
        restore_state=r.get("bake.restore_state"),
        allow_instance_store_loss=r.get("bake.allow_instance_store_loss"),
        tags=dict(tags),
        keep_previous=keep_previous,
        retain_on_delete=r.get("bake.retain_on_delete"),
        timeouts={k: float(v) for k, v in timeouts.items() if isinstance(v, int | float)},
        endpoint_url=endpoint_url,
        reencrypt_with=_reencrypt_with(r),
        **_lifecycle(r),
        **_cycle(r),
    )
