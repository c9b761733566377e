"""A BakedImage's life after the bake, adapted for the provider: props in, workflows out.

``BakedImageProvider`` calls these from check (lifecycle inputs), create and update
(deprecation, protection, sharing, copies), and delete (retention with the in-use
guard). The workflows are ``providers/aws/lifecycle.py`` and ``retention.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.aws.clients import make_client
from providers.aws.image_use import UsePolicy
from providers.aws.retention import Region, ReleaseReport, release_image

Log = Callable[[str], None]


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
