"""A BakedImage's life after the bake, adapted for the provider: props in, workflows out.

``BakedImageProvider`` calls these from check (lifecycle inputs), create and update
(deprecation, protection, sharing, copies), and delete (retention with the in-use
guard). The workflows are ``providers/aws/images/lifecycle.py`` and ``retention.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.aws import tags
from providers.aws.callbacks import Log, Now
from providers.aws.clients import Clients
from providers.aws.errors import InvalidInputError
from providers.aws.images import lifecycle
from providers.aws.images.amis import describe_image, find_images
from providers.aws.images.retention import Region, ReleaseReport, release_image
from providers.aws.images.use import UsePolicy, image_uses
from providers.aws.rules import validation
from providers.aws.rules.bake_plan import bake_id_of
from providers.aws.rules.lifecycle_plan import (
    DEFAULTS,
    HOME,
    Action,
    copies_made,
    input_value,
    plan_lifecycle,
    update_lifecycles,
    wanted_lifecycle,
)
from providers.aws.waits import Pacing
from providers.dynamic_props import UNKNOWN


def _client(service: str, props: Mapping[str, Any], region: str | None = None) -> Any:
    return Clients.for_props(props).in_region(region).client(service)


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

# All of them change in place: none needs a new image.
UPDATE_KEYS = tuple(DEFAULTS)
OUTPUT_KEYS = ("image_ids", "images_in_use")


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
            problems += validation.check_bool(input_value(inputs, flag), flag)
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


def _regions(props: Mapping[str, Any]) -> Callable[[str], Region]:
    """The clients of a region by plan key (``HOME``: the image's own region), built
    once per region for the whole plan."""
    home = Clients.for_props(props)

    def region_clients(region: str) -> Region:
        where = home.in_region(region or None)
        return Region(where.ec2, where.autoscaling)

    return region_clients


def _carry_out(
    image_id: str,
    plan_of: Callable[[Mapping[str, Any] | None], list[Action]],
    props: Mapping[str, Any],
    copies_made: Mapping[str, str],
    log: Log,
    pacing: Pacing | None,
    image: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Plan from the image (described here unless the caller just did), carry the plan
    out; region -> image id."""
    regions = _regions(props)
    if image is None:
        image = describe_image(regions(HOME).ec2, image_id) or {"ImageId": image_id}
    source = lifecycle.CopySource(
        image=image,
        region=str(props.get("region")),
        bake_id=str(bake_id_of(props)),
        name=str(props.get("name")),
        description=str(props.get("description") or ""),
    )
    copies = lifecycle.carry_out(
        plan_of(image),
        regions=regions,
        source=source,
        snapshot_ids=list(props.get("snapshot_ids") or []),
        copies_made=copies_made,
        policy=use_policy(props),
        log=log,
        pacing=pacing,
    )
    return {str(props.get("region")): image_id, **dict(sorted(copies.items()))}


def apply(
    image_id: str, props: Mapping[str, Any], log: Log, pacing: Pacing | None = None
) -> dict[str, Any]:
    """After a bake: snapshot tags, deprecation, protection, sharing, then the copies
    (each settled the same way). Returns the outputs to add (``image_ids`` per region)."""
    wanted = wanted_lifecycle(props)
    image_ids = _carry_out(
        image_id, lambda image: plan_lifecycle(None, wanted, image), props, {}, log, pacing
    )
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
    *,
    image: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply changed lifecycle inputs in place; copies to new regions are made, copies to
    regions no longer listed (or with another KMS key) removed unless in use.

    ``image``: the image as the caller just described it (not described again)."""
    olds = {**DEFAULTS, **{k: v for k, v in olds.items() if v is not None}}
    made = copies_made({**olds, "region": news.get("region")})
    old, new = update_lifecycles(olds, news)
    merged = {
        **news,
        "created_at": olds.get("created_at"),
        "snapshot_ids": olds.get("snapshot_ids"),
    }
    image_ids = _carry_out(
        image_id,
        lambda image: plan_lifecycle(old, new, image, copies_made=made),
        merged,
        made,
        log,
        pacing,
        image,
    )
    return {"image_ids": image_ids}
