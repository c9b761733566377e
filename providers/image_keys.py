"""A BakedImage's KMS keys, adapted for the provider: the share check at preview, the
``kms_key_ids`` output after a bake, and the ``reencrypt_with`` copy.

The workflows are ``providers/aws/images/keys.py`` and ``key_checks.py``; the policy
rule is ``providers/aws/rules/key_policy.py``. Absent inputs (no sharing, no
``reencrypt_with``) read nothing and change nothing: today's behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws.bake.baked_image import BakedImageInfo, describe_baked_image
from providers.aws.bake.reachability import aws_call_errors
from providers.aws.callbacks import Log
from providers.aws.clients import Clients
from providers.aws.errors import InvalidInputError
from providers.aws.images import key_checks, keys
from providers.aws.images.amis import describe_image
from providers.aws.waits import default_pacing
from providers.dynamic_props import UNKNOWN, same

SHARE_KEYS = (*key_checks.SHARE_FIELDS, "reencrypt_with", "copy_to_regions")
OUTPUT_KEYS = ("kms_key_ids",)


def _targets(props: Mapping[str, Any]) -> key_checks.ShareTargets:
    return key_checks.ShareTargets(*(tuple(props.get(f) or ()) for f in key_checks.SHARE_FIELDS))


def check_inputs(inputs: Mapping[str, Any]) -> list[InvalidInputError]:
    """``reencrypt_with``: a key id, key ARN or alias (values not yet known pass)."""
    value = inputs.get("reencrypt_with")
    if value is None or value == UNKNOWN:
        return []
    if not isinstance(value, str) or not value.strip() or " " in value:
        return [
            InvalidInputError(
                "reencrypt_with", value, "give a KMS key id, key ARN or alias of this region"
            )
        ]
    return []


def check_keys(
    reads: Clients, inputs: Mapping[str, Any], olds: Mapping[str, Any], *, rebake: bool, log: Log
) -> list[InvalidInputError]:
    """At preview: refuse sharing an image others could not launch (see key_checks).

    Runs only when sharing is asked and something it depends on changes (a new bake,
    other targets, another ``reencrypt_with``); warnings go to the log. ``reads``: check's
    clients for the inputs' region.
    """
    if any(inputs.get(k) == UNKNOWN for k in (*SHARE_KEYS, "instance_id", "region")):
        return []
    targets = _targets(inputs)
    if not targets.by_field():
        return []
    if not rebake and all(same(olds.get(k), inputs.get(k)) for k in SHARE_KEYS):
        return []
    try:
        report = key_checks.check_share_keys(
            reads.ec2,
            reads.kms,
            str(inputs["instance_id"]),
            targets,
            region=str(inputs["region"]),
            reencrypt_with=inputs.get("reencrypt_with") or None,
            copy_keys=dict(inputs.get("copy_to_regions") or {}),
        )
    except aws_call_errors() as exc:
        log(f"could not check the KMS keys of the shared image ({exc}); the share is unchecked")
        return []
    for warning in report.warnings:
        log(warning)
    return report.problems


def key_ids(clients: Clients, image_ids: Mapping[str, str]) -> dict[str, Any]:
    """The ``kms_key_ids`` output: per region, the keys of that region's image.

    AWS calls: DescribeImages, DescribeSnapshots, kms DescribeKey (per region).
    """
    found: dict[str, list[keys.KeyInfo]] = {}
    for region, image_id in image_ids.items():
        there = clients.in_region(region)
        found[region] = keys.image_keys(there.ec2, there.kms, image_id)
    return {"kms_key_ids": keys.key_ids_by_region(found)}


def reencrypted(
    clients: Clients, props: Mapping[str, Any], info: BakedImageInfo, log: Log
) -> BakedImageInfo:
    """The bake's image, or with ``reencrypt_with`` its copy under that key (which
    replaces it: it is what is shared, copied and handed on as ``image_id``)."""
    key = props.get("reencrypt_with")
    if not key:
        return info
    ec2 = clients.ec2
    image = describe_image(ec2, info.image_id)
    if image is None:
        raise InvalidInputError("image_id", info.image_id, "the new image vanished; run up again")
    copy_id = keys.reencrypt_image(
        ec2, image, str(key), region=str(props["region"]), pacing=default_pacing(), log=log
    )
    if copy_id != info.image_id:
        log(f"re-encrypted {info.image_id} under {key} as {copy_id}; {info.image_id} removed")
    return describe_baked_image(ec2, copy_id) or info
