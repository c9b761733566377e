"""The bake workflow: golden instance -> AMI with EC2's own CreateImage, resumable.

``bake_image`` runs the steps of ``bake_steps.BakeRun`` (inspect, hold, stop, image,
restart, release, wait, verify; each first asks AWS whether it is already done, so a
resumed run takes the same path as a first run). On any failure while the bake holds
the instance, it is put back in the state it was found in, then released. Every error
it raises is a ``BakeryError`` (an AWS call that failed for no reason Bakery knows is
an ``AwsCallError`` naming the operation and code).

CreateSnapshots + RegisterImage is gone: RegisterImage loses billing (Windows, RHEL,
SQL Server licences), Secure Boot (UefiData) and NitroTPM, and the EC2 API reference
(RegisterImage) says to use CreateImage unless there is a specific reason; none
applies to imaging a golden instance, so no opt-in is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from providers.aws import tags
from providers.aws.bake.request import (
    BakedImageInfo,
    BakeRequest,
    describe_baked_image,
    own_image,
)
from providers.aws.bake.source_instance import find_instance, inspect_instance, no_such_instance
from providers.aws.bake.steps import BakeRun
from providers.aws.callbacks import Log, Now
from providers.aws.errors import AwsCallError, ImageNameTakenError, InvalidInputError
from providers.aws.images.amis import describe_image, image_snapshot_ids, tag_image, untag_image
from providers.aws.rules.bake_plan import bake_id_for
from providers.aws.waits import Pacing, default_pacing

__all__ = [
    "BakeRequest",
    "BakedImageInfo",
    "bake_id_for",
    "bake_image",
    "check_bake",
    "describe_baked_image",
    "find_instance",
    "update_baked_image",
]


def _quiet(_: str) -> None:
    pass


def check_bake(
    ec2: Any, req: BakeRequest, *, instance: Mapping[str, Any] | None
) -> list[InvalidInputError]:
    """Read-only checks against AWS for ``check``/preview: nothing is changed.

    Args:
        instance: the instance as ``find_instance`` read it (None: the region has none of
            that id); check reads it once for this and ``preflight_bake``.

    AWS calls: DescribeImages (by bake id and by name, at once).
    """
    problems: list[InvalidInputError] = []
    try:
        if instance is None:
            raise no_such_instance(ec2, req.instance_id)
        inspect_instance(ec2, req.instance_id, instance=instance)
    except InvalidInputError as exc:
        problems.append(exc)
    try:
        own_image(ec2, req, reads_at_once=True)
    except ImageNameTakenError as exc:
        problems.append(exc)
    return problems


def bake_image(
    ec2: Any,
    req: BakeRequest,
    *,
    pacing: Pacing | None = None,
    log: Log = _quiet,
    now: Now = tags.utcnow,
    ssm: Any = None,
) -> BakedImageInfo:
    """Bake the instance into an AMI, resuming whatever an earlier run of this bake did.

    See the module docstring for the steps and their AWS calls.

    Raises:
        InstanceUnsuitableError, ImageNameTakenError: before anything is changed.
        InstanceStillHeldError: another bake kept the instance past its deadline.
        WaitError: a wait failed or timed out (the instance is restored first).
        InstanceNotRestoredError: the instance could not be put back (loud on purpose).
        ImageMismatchError: the image lost the instance's billing (it is deregistered).
        AwsCallError: an AWS call failed otherwise (the instance is restored first).
        CommandFailedError: patch, prepare or restore did not succeed (the instance is
            put back, restore run when prepare was sent).
        VerifyFailedError: the image did not boot (tagged verify-failed, not handed on).

    ``ssm`` is needed only when the request asks for patch, prepare, restore or verify.
    """
    try:
        return BakeRun(ec2, req, pacing or default_pacing(), log, now, ssm=ssm).run()
    except (ClientError, BotoCoreError) as exc:
        raise AwsCallError.of(exc) from exc


def update_baked_image(
    ec2: Any,
    image_id: str,
    *,
    old_tags: Mapping[str, str],
    new_tags: Mapping[str, str],
    old_description: str,
    new_description: str,
) -> dict[str, Any]:
    """Change what AWS can change in place: user tags and the description.

    AWS calls: DescribeImages, DescribeSnapshots, CreateTags, DeleteTags,
    ModifyImageAttribute.

    Returns:
        The image as described, with the tags and description now set (the lifecycle
        update plans from it rather than describing it again).
    """
    image = describe_image(ec2, image_id)
    if image is None:
        raise InvalidInputError("image_id", image_id, "the image is gone; run pulumi refresh")
    snapshot_ids = image_snapshot_ids(ec2, image)
    untag_image(ec2, image_id, snapshot_ids, [k for k in old_tags if k not in new_tags])
    if dict(new_tags):
        tag_image(ec2, image_id, snapshot_ids, new_tags)
    if new_description != old_description:
        ec2.modify_image_attribute(ImageId=image_id, Description={"Value": new_description})
    kept = {k: v for k, v in tags.to_dict(image.get("Tags")).items() if k not in old_tags}
    return {**image, "Tags": tags.to_list({**kept, **new_tags}), "Description": new_description}
