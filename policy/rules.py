"""Bakery's policy rules as plain functions: a resource's type and inputs in, a
violation message (or None) out. ``__main__.py`` wires them into a CrossGuard pack;
tests call them directly.

Which stacks the stricter rules apply to is stack config the program itself does
not read, in its own namespace so that Bakery's key table stays the program's:

    bakery-policy:production: true   # prod fleets: min healthy >= 90 %, IMDSv2;
                                     # no live (crash-consistent) bakes
    bakery-policy:encrypted: true    # images this stack copies must be encrypted
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACE = "bakery-policy"
BAKED_IMAGE = "pulumi-python:dynamic/bakery:BakedImage"
INSTANCE_REFRESH = "pulumi-python:dynamic/bakery:InstanceRefresh"
LAUNCH_PERMISSION = "aws:ec2/amiLaunchPermission:AmiLaunchPermission"
AMI_COPY = "aws:ec2/amiCopy:AmiCopy"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
# AWS's own recommendation for a rolling replacement of a production fleet, and
# Bakery's default (fleet.min_healthy_percentage).
MIN_HEALTHY_PERCENTAGE = 90


@dataclass(frozen=True)
class Stack:
    """What a stack asks of the policies (its ``bakery-policy:*`` config)."""

    production: bool = False
    encrypted: bool = False

    @classmethod
    def from_config(cls, get: Callable[[str], str | None]) -> Stack:
        """From a config getter (``pulumi.Config(NAMESPACE).get``): text true/false."""
        return cls(
            production=(get("production") or "").strip().lower() == "true",
            encrypted=(get("encrypted") or "").strip().lower() == "true",
        )


Rule = Callable[[str, Mapping[str, Any], Stack], "str | None"]


def public_image(kind: str, props: Mapping[str, Any], stack: Stack) -> str | None:
    """No image may be launchable by every AWS account (launch permission group all).

    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html
    """
    if kind == LAUNCH_PERMISSION and props.get("group") == "all":
        return (
            f"image {props.get('imageId')} would be public (launch permission group 'all'); "
            "share it with accounts instead (bakery:promote.share_with_accounts)"
        )
    return None


def unencrypted_copy(kind: str, props: Mapping[str, Any], stack: Stack) -> str | None:
    """A stack that asks for encryption copies images only encrypted.

    A copy with ``Encrypted`` set encrypts every snapshot of the new image (with
    ``KmsKeyId``, or the account's default EBS key):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html
    """
    if not stack.encrypted or kind != AMI_COPY or props.get("encrypted") is True:
        return None
    return (
        f"{NAMESPACE}:encrypted is true but this image copy is not encrypted; "
        "set bakery:promote.kms_key_id (a KMS key ARN) so that the copy and its "
        "snapshots are encrypted"
    )


def live_bake(kind: str, props: Mapping[str, Any], stack: Stack) -> str | None:
    """A production stack never images a running instance (crash-consistent)."""
    if not stack.production or kind != BAKED_IMAGE:
        return None
    # The provider's own reading: `consistency`, or the older `stop_instance`.
    consistency = props.get("consistency") or (
        "stop" if props.get("stop_instance", True) else "live"
    )
    if consistency != "live":
        return None
    return (
        f"{NAMESPACE}:production is true and this bake images the instance while it "
        "runs (consistency: live), which may capture half-written files; bake with "
        "consistency stop or reboot (bakery:bake.consistency)"
    )


def low_min_healthy(kind: str, props: Mapping[str, Any], stack: Stack) -> str | None:
    """A production fleet keeps at least 90 % of its capacity in service while rolling.

    https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html
    """
    if not stack.production or kind != INSTANCE_REFRESH:
        return None
    value = props.get("min_healthy_percentage", MIN_HEALTHY_PERCENTAGE)
    if isinstance(value, int | float) and value >= MIN_HEALTHY_PERCENTAGE:
        return None
    return (
        f"{NAMESPACE}:production is true and the rollout keeps only {value} % of the "
        f"fleet in service; set bakery:fleet.min_healthy_percentage to "
        f"{MIN_HEALTHY_PERCENTAGE} or more"
    )


def imds_v1_allowed(kind: str, props: Mapping[str, Any], stack: Stack) -> str | None:
    """A production fleet's instances answer only IMDSv2 (session tokens required).

    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html
    """
    if not stack.production or kind not in (LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION):
        return None
    options = props.get("metadataOptions") or {}
    if options.get("httpTokens") == "required":
        return None
    return (
        f"{NAMESPACE}:production is true and these instances accept IMDSv1 "
        "(metadataOptions.httpTokens is not 'required'); require IMDSv2 tokens"
    )


RULES: dict[str, tuple[str, Rule]] = {
    "bakery-no-public-images": ("No image is public (launch permission group all)", public_image),
    "bakery-encrypted-copies": (
        "Images copied by a stack marked encrypted are encrypted",
        unencrypted_copy,
    ),
    "bakery-no-live-bake-in-production": (
        "Production stacks never bake with consistency live",
        live_bake,
    ),
    "bakery-production-min-healthy": (
        "Production fleets keep at least 90 % in service while rolling",
        low_min_healthy,
    ),
    "bakery-production-imdsv2": ("Production fleets require IMDSv2", imds_v1_allowed),
}
"""Every rule by policy name: its description and its check."""
