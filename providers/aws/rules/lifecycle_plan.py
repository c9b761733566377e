"""An image's lifecycle as a plan: what create or an update must do, before anything is done.

``plan_lifecycle(old, new, image)`` is pure: from the lifecycle the previous inputs
wanted (``old``; None on create), the one the new inputs want (``new``) and the baked
image as AWS describes it (None at preview, when nothing is read), it lists the actions
in the order they are carried out:

1. the home image: snapshot tags, deprecation, sharing, deregistration protection;
2. each copy already made: the same three settled, or removed when its region left
   ``copy_to_regions`` or its KMS key changed (the removal keeps a copy in use);
3. each new copy region: copy, then the same three on the copy.

``providers/aws/images/lifecycle.py`` ``carry_out`` executes the list; the PR preview
prints ``Action.describe()`` of the same plan. A fresh image (create) is compared with
the defaults: only what is set is sent. Each action's inverse is what the plan of the
reverse change lists (share/unshare, protect/unprotect, copy/remove, deprecate/cancel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from providers.aws import tags

HOME = ""
"""The region key of the baked image itself (copies are keyed by their region)."""


@dataclass(frozen=True)
class Sharing:
    """Who may launch the image (and, for accounts, create volumes from its snapshots)."""

    accounts: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()

    def permissions(self) -> list[dict[str, str]]:
        return [
            *({"UserId": a} for a in self.accounts),
            *({"OrganizationArn": o} for o in self.organizations),
            *({"OrganizationalUnitArn": u} for u in self.organizational_units),
        ]

    def __bool__(self) -> bool:
        return bool(self.accounts or self.organizations or self.organizational_units)


@dataclass(frozen=True)
class Protection:
    """Deregistration protection wanted on the image."""

    enabled: bool = False
    cooldown: bool = False


@dataclass(frozen=True)
class Lifecycle:
    """What the inputs want for the image and its copies."""

    deprecate_after_days: float | None = None
    baked_at: str | None = None  # a tags.stamp; the deprecation counts from it
    protection: Protection = Protection()
    sharing: Sharing = Sharing()
    snapshot_tags: Mapping[str, str] = field(default_factory=dict)
    copies: Mapping[str, str | None] = field(default_factory=dict)  # region -> KMS key

    @property
    def deprecate_at(self) -> datetime | None:
        if self.deprecate_after_days is None:
            return None
        # No bake time known (a state that never recorded one): count from now.
        baked_at = self.baked_at or tags.stamp(tags.utcnow())
        return deprecation_time(baked_at, self.deprecate_after_days)


def deprecation_time(baked_at: str, days: float) -> datetime:
    """When an image baked at ``baked_at`` (a tags.stamp) is deprecated."""
    start = datetime.fromisoformat(baked_at.replace("Z", "+00:00"))
    return start + timedelta(days=float(days))


def _where(region: str) -> str:
    return "the image" if region == HOME else f"the copy in {region}"


@dataclass(frozen=True)
class TagSnapshots:
    """Give the image's snapshots the tags (and their volumes' user tags); drop old keys."""

    tags: Mapping[str, str]
    old_tags: Mapping[str, str] | None = None
    region: str = HOME

    def describe(self) -> str:
        gone = sorted(k for k in (self.old_tags or {}) if k not in self.tags)
        dropped = f", drop {', '.join(gone)}" if gone else ""
        keys = ", ".join(sorted(self.tags)) or "their volumes' tags"
        return f"tag the snapshots: {keys}{dropped}"


@dataclass(frozen=True)
class SetDeprecation:
    """Deprecate the image at ``at``, or cancel its deprecation (``at`` None)."""

    region: str
    at: datetime | None

    def describe(self) -> str:
        if self.at is None:
            return f"cancel the deprecation of {_where(self.region)}"
        return f"deprecate {_where(self.region)} at {self.at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class SetProtection:
    """Turn deregistration protection on (with or without cooldown) or off."""

    region: str
    wanted: Protection

    def describe(self) -> str:
        if not self.wanted.enabled:
            return f"lift the deregistration protection of {_where(self.region)}"
        cooldown = " with a 24-hour cooldown" if self.wanted.cooldown else ""
        return f"protect {_where(self.region)} from deregistration{cooldown}"


@dataclass(frozen=True)
class SetSharing:
    """Grant and revoke launch (and, for accounts, snapshot) permissions: ``old`` -> ``new``."""

    region: str
    old: Sharing
    new: Sharing

    def describe(self) -> str:
        def names(s: Sharing) -> set[str]:
            return {*s.accounts, *s.organizations, *s.organizational_units}

        parts = []
        added, removed = names(self.new) - names(self.old), names(self.old) - names(self.new)
        if added:
            parts.append(f"share {_where(self.region)} with {', '.join(sorted(added))}")
        if removed:
            parts.append(f"stop sharing {_where(self.region)} with {', '.join(sorted(removed))}")
        return "; ".join(parts) or f"re-share {_where(self.region)}"


@dataclass(frozen=True)
class CopyTo:
    """Copy the image to ``region`` (encrypted with ``kms_key_id`` when given)."""

    region: str
    kms_key_id: str | None

    def describe(self) -> str:
        key = f" encrypted with {self.kms_key_id}" if self.kms_key_id else ""
        return f"copy the image to {self.region}{key}"


@dataclass(frozen=True)
class RemoveCopy:
    """Remove the copy in ``region`` (kept, and said so, while something uses it)."""

    region: str
    image_id: str

    def describe(self) -> str:
        return f"remove the copy {self.image_id} in {self.region} unless in use"


Action = TagSnapshots | SetDeprecation | SetProtection | SetSharing | CopyTo | RemoveCopy


def _bakery_protected(image: Mapping[str, Any] | None, old: Lifecycle) -> bool:
    """Whether Bakery turned the image's protection on: its mark on the described
    image, or (unread, e.g. at preview or for a copy) what the old inputs asked for."""
    if image is None:
        return old.protection.enabled
    return tags.PROTECTED in tags.to_dict(image.get("Tags"))


def _settle(
    region: str, old: Lifecycle | None, new: Lifecycle, image: Mapping[str, Any] | None
) -> list[Action]:
    base = old or Lifecycle()
    actions: list[Action] = []
    if new.deprecate_after_days != base.deprecate_after_days:
        actions.append(SetDeprecation(region, new.deprecate_at))
    if new.sharing != base.sharing:
        actions.append(SetSharing(region, base.sharing, new.sharing))
    # Protection last: a new copy that fails before it can still be deregistered (with
    # a cooldown, protection holds 24 hours after it is lifted). Lifting protection is
    # Bakery's to do only where Bakery turned it on.
    lift_ok = new.protection.enabled or _bakery_protected(image, base)
    if new.protection != base.protection and lift_ok:
        actions.append(SetProtection(region, new.protection))
    return actions


def plan_lifecycle(
    old: Lifecycle | None,
    new: Lifecycle,
    image: Mapping[str, Any] | None = None,
    *,
    copies_made: Mapping[str, str] | None = None,
) -> list[Action]:
    """The actions that bring the image and its copies from ``old`` to ``new``, in order.

    Args:
        old: what the previous inputs wanted; None for a fresh image (create).
        new: what the inputs want now.
        image: the baked image as DescribeImages returns it, or None (preview).
        copies_made: region -> copy image id of the copies the previous run made.
    """
    made = dict(copies_made or {})
    actions: list[Action] = []
    if old is None:
        actions.append(TagSnapshots(dict(new.snapshot_tags)))
    elif dict(new.snapshot_tags) != dict(old.snapshot_tags):
        actions.append(TagSnapshots(dict(new.snapshot_tags), dict(old.snapshot_tags)))
    actions += _settle(HOME, old, new, image)
    old_copies = dict(old.copies) if old else {}
    for region in sorted(old_copies):
        if region in new.copies and new.copies[region] == old_copies[region]:
            if region in made:
                actions += _settle(region, old, new, None)
            continue
        if region in made:
            actions.append(RemoveCopy(region, made.pop(region)))
    for region in sorted(new.copies):
        if region not in made:
            actions.append(CopyTo(region, new.copies[region] or None))
            actions += _settle(region, None, new, None)
    return actions


def describe_plan(actions: Sequence[Action]) -> list[str]:
    """One line per action, as the preview shows them."""
    return [a.describe() for a in actions]


# Defaults of the lifecycle inputs; a state written before they existed diffs as these.
DEFAULTS: dict[str, Any] = {
    "deprecate_after_days": None,
    "deregistration_protection": False,
    "deregistration_protection_cooldown": False,
    "share_with_accounts": [],
    "share_with_organizations": [],
    "share_with_organizational_units": [],
    "copy_to_regions": {},
    "snapshot_tags": {},
    "prune_shared": False,
    "keep_launched_within_days": None,
}


def input_value(props: Mapping[str, Any], key: str) -> Any:
    """A lifecycle input, or its default when absent (an older state) or None."""
    value = props.get(key)
    return DEFAULTS[key] if value is None else value


def wanted_lifecycle(props: Mapping[str, Any], *, baked_at: str | None = None) -> Lifecycle:
    """The lifecycle a BakedImage's inputs (or state) ask for.

    ``baked_at`` overrides the props' ``created_at`` (an update keeps the bake's time)."""
    days = props.get("deprecate_after_days")
    return Lifecycle(
        deprecate_after_days=None if days is None else float(days),
        baked_at=baked_at or props.get("created_at") or None,
        protection=Protection(
            enabled=bool(input_value(props, "deregistration_protection")),
            cooldown=bool(input_value(props, "deregistration_protection_cooldown")),
        ),
        sharing=Sharing(
            accounts=tuple(input_value(props, "share_with_accounts")),
            organizations=tuple(input_value(props, "share_with_organizations")),
            organizational_units=tuple(input_value(props, "share_with_organizational_units")),
        ),
        snapshot_tags=dict(input_value(props, "snapshot_tags")),
        copies={r: (k or None) for r, k in dict(input_value(props, "copy_to_regions")).items()},
    )


def update_lifecycles(
    olds: Mapping[str, Any], news: Mapping[str, Any]
) -> tuple[Lifecycle, Lifecycle]:
    """The lifecycles an in-place update goes between: the old state's and the new
    inputs', the new one counting from the bake's time (an update does not re-bake)."""
    olds = {**DEFAULTS, **{k: v for k, v in olds.items() if v is not None}}
    baked_at = olds.get("created_at")
    old = wanted_lifecycle(olds)
    return old, wanted_lifecycle(news, baked_at=str(baked_at) if baked_at else None)


def copies_made(props: Mapping[str, Any]) -> dict[str, str]:
    """region -> copy id, from a BakedImage's outputs (``image_ids`` less its own region)."""
    home = str(props.get("region"))
    return {r: str(i) for r, i in dict(props.get("image_ids") or {}).items() if r != home}
