"""A BakedImage's life after the bake, adapted for the provider: props in, workflows out.

``BakedImageProvider`` calls these from check (lifecycle inputs), create and update
(deprecation, protection, sharing, copies), and delete (retention with the in-use
guard). The workflows are ``providers/aws/images/lifecycle.py`` and ``retention.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from providers import dynamic_props
from providers.aws import tags
from providers.aws.clients import make_client
from providers.aws.errors import InvalidInputError
from providers.aws.images import lifecycle
from providers.aws.images.amis import describe_image, find_images, mapped_snapshot_ids
from providers.aws.images.retention import Region, ReleaseReport, prune_images, release_image
from providers.aws.images.use import UsePolicy, image_uses
from providers.aws.rules import validation
from providers.aws.rules.bake_plan import bake_id_of
from providers.aws.waits import Pacing
from providers.dynamic_props import UNKNOWN

Log = Callable[[str], None]
Now = Callable[[], datetime]


def _client(service: str, props: Mapping[str, Any], region: str | None = None) -> Any:
    return make_client(
        service, region=region or props.get("region"), endpoint_url=props.get("endpoint_url")
    )


def use_policy(props: Mapping[str, Any]) -> UsePolicy:
    """The in-use rules the props ask for (absent keys: defaults of an older state)."""
    days = props.get("keep_launched_within_days")
    return UsePolicy(
        prune_shared=bool(props.get("prune_shared", False)),
        keep_launched_within_days=float(days) if days is not None else None,
    )


def copy_regions(props: Mapping[str, Any]) -> list[str]:
    """The regions the image is copied to (``copy_to_regions`` keys)."""
    return sorted((props.get("copy_to_regions") or {}).keys())


def release(image_id: str, props: Mapping[str, Any], log: Log) -> ReleaseReport:
    """Retire or remove the image per its props, keeping what is in use; log what happened."""
    copies = {
        region: Region(_client("ec2", props, region), _client("autoscaling", props, region))
        for region in copy_regions(props)
    }
    report = release_image(
        _client("ec2", props),
        _client("autoscaling", props),
        image_id,
        lineage=props["lineage"],
        snapshot_ids=list(props.get("snapshot_ids") or []),
        keep_previous=int(props.get("keep_previous", 1)),
        retain_on_delete=bool(props.get("retain_on_delete", False)),
        policy=use_policy(props),
        copies=copies,
        log=log,
    )
    if report.retired:
        log(f"retired {image_id} (kept for rollback)")
    if report.deregistered:
        log(f"deregistered {', '.join(report.deregistered)} and their snapshots")
    if report.snapshots_in_use:
        log(
            f"snapshots still in use, retried on the next run: {', '.join(report.snapshots_in_use)}"
        )
    return report


# --- lifecycle inputs: defaults, checks, create and update --------------------------

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
# All of them change in place: none needs a new image.
UPDATE_KEYS = tuple(DEFAULTS)
OUTPUT_KEYS = ("image_ids", "images_in_use")


def _value(props: Mapping[str, Any], key: str) -> Any:
    value = props.get(key)
    return DEFAULTS[key] if value is None else value


def check_inputs(
    inputs: Mapping[str, Any], olds: Mapping[str, Any], *, now: Now = tags.utcnow
) -> list[InvalidInputError]:
    """One problem per bad lifecycle input (values not yet known are skipped)."""

    def known(key: str) -> bool:
        return inputs.get(key) != UNKNOWN

    problems: list[InvalidInputError] = []
    rules = [
        ("share_with_accounts", validation.check_account_ids),
        ("share_with_organizations", validation.check_organization_arns),
        ("share_with_organizational_units", validation.check_ou_arns),
        ("snapshot_tags", validation.check_tags),
    ]
    for key, rule in rules:
        if known(key):
            problems += rule(inputs.get(key), key)
    for flag in ("deregistration_protection", "deregistration_protection_cooldown", "prune_shared"):
        if known(flag):
            problems += validation.check_bool(_value(inputs, flag), flag)
    if known("keep_launched_within_days"):
        problems += validation.check_days(
            inputs.get("keep_launched_within_days"), "keep_launched_within_days", maximum=36500
        )
    if known("copy_to_regions") and known("region"):
        problems += validation.check_copy_regions(
            inputs.get("copy_to_regions"), inputs.get("region")
        )
    days = inputs.get("deprecate_after_days")
    if known("deprecate_after_days"):
        found = validation.check_days(days, "deprecate_after_days")
        problems += found
        baked_at = olds.get("created_at")
        if not found and days is not None and baked_at and bake_id_of(olds) == bake_id_of(inputs):
            at = lifecycle.deprecation_time(str(baked_at), float(days))
            if at <= now():
                problems.append(
                    InvalidInputError(
                        "deprecate_after_days",
                        days,
                        f"the image was baked at {baked_at}, so that is {tags.stamp(at)}, in "
                        "the past; AWS refuses a past deprecation time: raise it",
                    )
                )
    return problems


def _sharing(props: Mapping[str, Any]) -> lifecycle.Sharing:
    return lifecycle.Sharing(
        accounts=tuple(_value(props, "share_with_accounts")),
        organizations=tuple(_value(props, "share_with_organizations")),
        organizational_units=tuple(_value(props, "share_with_organizational_units")),
    )


def _protection(props: Mapping[str, Any]) -> lifecycle.Protection:
    return lifecycle.Protection(
        enabled=bool(_value(props, "deregistration_protection")),
        cooldown=bool(_value(props, "deregistration_protection_cooldown")),
    )


def _deprecate_at(props: Mapping[str, Any]) -> Any:
    days = props.get("deprecate_after_days")
    baked_at = props.get("created_at") or tags.stamp(tags.utcnow())
    return None if days is None else lifecycle.deprecation_time(str(baked_at), float(days))


def _settle(ec2: Any, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
    """Bring one image (the bake or a copy) to the news' deprecation, protection, sharing."""
    # A fresh image (no olds) compares against the defaults: only what is set is sent.
    if dynamic_props.changed(olds, news, ["deprecate_after_days"]):
        lifecycle.set_deprecation(ec2, image_id, _deprecate_at(news))
    if _protection(news) != (_protection(olds) if olds else lifecycle.Protection()):
        image = describe_image(ec2, image_id)
        if image is not None:
            lifecycle.set_protection(ec2, image, _protection(news))
    old_sharing = _sharing(olds) if olds else lifecycle.Sharing()
    if _sharing(news) != old_sharing:
        image = describe_image(ec2, image_id)
        snapshots = mapped_snapshot_ids(image) if image else []
        lifecycle.set_sharing(ec2, image_id, snapshots, old_sharing, _sharing(news))


def _copy(
    image_id: str, props: Mapping[str, Any], region: str, log: Log, pacing: Pacing | None
) -> str:
    ec2 = _client("ec2", props, region)
    home = _client("ec2", props)
    image = describe_image(home, image_id) or {}
    kms = (_value(props, "copy_to_regions") or {}).get(region) or None
    copied = lifecycle.copy_image(
        ec2,
        lifecycle.CopyRequest(
            source_image_id=image_id,
            source_region=str(props.get("region")),
            name=str(image.get("Name") or props.get("name")),
            description=str(image.get("Description") or props.get("description") or ""),
            bake_id=str(bake_id_of(props)),
            image_tags={
                k: v
                for k, v in tags.to_dict(image.get("Tags")).items()
                if k not in (tags.RETIRED_AT, tags.PROTECTED) and not k.startswith(tags.HELD_BY)
            },
            kms_key_id=kms,
        ),
        pacing=pacing,
        log=log,
    )
    log(f"copied {image_id} to {region} as {copied}")
    return copied


def apply(
    image_id: str, props: Mapping[str, Any], log: Log, pacing: Pacing | None = None
) -> dict[str, Any]:
    """After a bake: snapshot tags, deprecation, protection, sharing, then the copies
    (each settled the same way). Returns the outputs to add (``image_ids`` per region)."""
    ec2 = _client("ec2", props)
    snapshot_ids = list(props.get("snapshot_ids") or [])
    snapshot_tags = dict(_value(props, "snapshot_tags"))
    lifecycle.tag_snapshots(ec2, snapshot_ids, snapshot_tags)
    _settle(ec2, image_id, {}, props)
    image_ids = {str(props.get("region")): image_id}
    for region in copy_regions(props):
        copied = _copy(image_id, props, region, log, pacing)
        _settle(_client("ec2", props, region), copied, {}, props)
        image_ids[region] = copied
    return {"image_ids": image_ids, "images_in_use": _lineage_in_use(image_id, props)}


def _lineage_in_use(image_id: str, props: Mapping[str, Any]) -> dict[str, list[str]]:
    """The lineage's other images something still uses, and why (at bake time: the image
    this bake replaces is among them while the fleet runs it)."""
    ec2 = _client("ec2", props)
    others = [
        i
        for i in find_images(ec2, tags.LINEAGE, str(props["lineage"]))
        if i["ImageId"] != image_id and tags.COPY_OF not in tags.to_dict(i.get("Tags"))
    ]
    uses = image_uses(ec2, _client("autoscaling", props), others, policy=use_policy(props))
    return {k: v for k, v in sorted(uses.items()) if v}


def update(
    image_id: str,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    log: Log,
    pacing: Pacing | None = None,
) -> dict[str, Any]:
    """Apply changed lifecycle inputs in place; copies to new regions are made, copies to
    regions no longer listed (or with another KMS key) removed unless in use."""
    olds = {**DEFAULTS, **{k: v for k, v in olds.items() if v is not None}}
    ec2 = _client("ec2", news)
    snapshot_ids = list(olds.get("snapshot_ids") or [])
    if dynamic_props.changed(olds, news, ["snapshot_tags"]):
        lifecycle.tag_snapshots(
            ec2,
            snapshot_ids,
            dict(_value(news, "snapshot_tags")),
            old_tags=dict(_value(olds, "snapshot_tags")),
        )
    merged = {**news, "created_at": olds.get("created_at")}
    _settle(ec2, image_id, olds, merged)
    image_ids = dict(olds.get("image_ids") or {str(news.get("region")): image_id})
    old_copies = dict(_value(olds, "copy_to_regions"))
    new_copies = dict(_value(news, "copy_to_regions"))
    for region in sorted(old_copies):
        if region in new_copies and new_copies[region] == old_copies[region]:
            if region in image_ids:
                _settle(_client("ec2", news, region), image_ids[region], olds, merged)
            continue
        copied = image_ids.pop(region, None)
        if copied:
            report = prune_images(
                _client("ec2", news, region),
                _client("autoscaling", news, region),
                [copied],
                policy=use_policy(news),
                region=region,
            )
            for kept in report.kept:
                log(str(kept))
            if report.deregistered:
                log(f"removed the copy {copied} in {region}")
    for region in sorted(new_copies):
        if region not in image_ids:
            copied = _copy(image_id, merged, region, log, pacing)
            _settle(_client("ec2", news, region), copied, {}, merged)
            image_ids[region] = copied
    return {"image_ids": image_ids}
