"""AMIs of a bake: create from the instance, find, wait, tag, deregister with snapshots.

Images are found by the ``bakery:bake-id`` tag (set at creation) and by name
(unique per account and region), so a retry adopts what an interrupted run made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.callbacks import Log
from providers.aws.errors import ImageNameTakenError, is_response_parser_error
from providers.aws.images.snapshots import delete_snapshots, find_snapshots
from providers.aws.wait_table import WAITS
from providers.aws.waits import Pacing, WaitSpec, wait_for

_IMAGE_GONE = ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed")
# What an endpoint says to a parameter it does not know.
_PARAMETER_REFUSED = ("InvalidParameter", "UnknownParameter", "InvalidParameterCombination")


@dataclass(frozen=True)
class CreatedImage:
    """What CreateImage made: the image, and whether its snapshots got their tags."""

    image_id: str
    snapshots_tagged: bool = True


def create_image_tagged(
    ec2: Any,
    instance_id: str,
    *,
    name: str,
    description: str,
    no_reboot: bool,
    image_tags: Mapping[str, str],
    snapshot_tags: Mapping[str, str],
) -> CreatedImage:
    """CreateImage of the instance, the image and its snapshots tagged at creation.

    EC2 makes one snapshot per EBS volume and keeps what it knows about the instance
    (billing, boot mode, TPM, UEFI data, IMDS support, ENA, instance-store mappings:
    EC2 API reference, CreateImage; RegisterImage says to use CreateImage for
    licensed images). ``no_reboot=False`` lets EC2 shut the OS down cleanly first.

    Local fakes (stock moto, LocalStack, whose EC2 is moto's) refuse the ``snapshot``
    tag specification as not implemented (HTTP 500); real EC2 takes it. On that refusal
    CreateImage is sent once more without it, and ``snapshots_tagged`` is False.

    AWS calls: CreateImage (twice when the snapshot tags are refused).

    Raises:
        ImageNameTakenError: an image already has the name (a retry of this bake
            adopts it when its bake id is this bake's).
    """
    params: dict[str, Any] = {
        "InstanceId": instance_id,
        "Name": name,
        "Description": description,
        "NoReboot": no_reboot,
    }
    image_spec = tags.spec("image", image_tags)
    snapshot_spec = tags.spec("snapshot", snapshot_tags)
    try:
        try:
            with _no_retry_on_server_error(ec2, bool(snapshot_spec)):
                response = ec2.create_image(
                    **params, TagSpecifications=[*image_spec, *snapshot_spec]
                )
            return CreatedImage(str(response["ImageId"]))
        except Exception as exc:
            if not snapshot_spec or not snapshot_tags_refused(exc):
                raise
        response = ec2.create_image(**params, TagSpecifications=image_spec)
        return CreatedImage(str(response["ImageId"]), snapshots_tagged=False)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidAMIName.Duplicate":
            taken = find_image_by_name(ec2, name)
            raise ImageNameTakenError(name, taken["ImageId"] if taken else "?") from exc
        raise


# How a fake says "not implemented": moto in-process raises NotImplementedError; its
# server answers an HTML 500 (botocore: ResponseParserError); LocalStack an XML 500/501.
_NOT_IMPLEMENTED_CODES = frozenset({"InternalFailure", "InternalError", "NotImplemented"})


def snapshot_tags_refused(exc: BaseException) -> bool:
    """Whether CreateImage failed as an endpoint does that cannot tag snapshots."""
    if isinstance(exc, NotImplementedError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code")
        return code in _NOT_IMPLEMENTED_CODES or status in (500, 501)
    return is_response_parser_error(exc) and "500 Internal Server Error" in str(exc)


@contextmanager
def _no_retry_on_server_error(ec2: Any, active: bool) -> Iterator[None]:
    """While the snapshot spec may be refused, a 5xx is final (not ten attempts)."""

    def no_retry(response: Any = None, **_: Any) -> bool | None:
        status = getattr(response[0], "status_code", 0) if response else 0
        return False if status >= 500 else None

    event = "needs-retry.ec2.CreateImage"
    if active:
        ec2.meta.events.register_first(event, no_retry, unique_id="bakery-snapshot-tags")
    try:
        yield
    finally:
        if active:
            ec2.meta.events.unregister(event, unique_id="bakery-snapshot-tags")


def tag_listed_snapshots(
    ec2: Any, image_id: str, wanted: int, snapshot_tags: Mapping[str, str]
) -> list[str] | None:
    """Tag the image's snapshots once its mappings list ``wanted`` of them (or it is
    available: every snapshot then exists); None while they are not all listed yet.

    AWS calls: DescribeImages, CreateTags.
    """
    image = describe_image(ec2, image_id)
    if image is None:
        return None
    listed = mapped_snapshot_ids(image)
    if len(listed) < wanted and image.get("State") != "available":
        return None
    if listed:
        ec2.create_tags(Resources=listed, Tags=tags.to_list(snapshot_tags))
    return listed


def billing_of(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(PlatformDetails, UsageOperation) of an image or instance."""
    return item.get("PlatformDetails"), item.get("UsageOperation")


def _describe_all(ec2: Any, **params: Any) -> list[dict[str, Any]]:
    """Every image a DescribeImages query matches, disabled ones included, all pages.

    Disabled images are hidden unless ``IncludeDisabled`` (EC2 API reference,
    DescribeImages; DisableImage), and a retired image someone disabled must still be
    found to be pruned.
    """
    found: list[dict[str, Any]] = []
    paginator = ec2.get_paginator("describe_images")
    for page in paginator.paginate(IncludeDisabled=True, **params):
        found.extend(page["Images"])
    return found


def find_image_by_name(ec2: Any, name: str) -> dict[str, Any] | None:
    """Our image with this exact name, if any (names are unique per region)."""
    images = _describe_all(ec2, Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
    return images[0] if images else None


def find_images(ec2: Any, key: str, value: str) -> list[dict[str, Any]]:
    """Every image we own whose tag ``key`` is ``value`` (disabled ones too)."""
    return _describe_all(ec2, Owners=["self"], Filters=[{"Name": f"tag:{key}", "Values": [value]}])


def describe_image(ec2: Any, image_id: str) -> dict[str, Any] | None:
    """The image (disabled too), or None when it is gone (deregistered or never existed)."""
    try:
        images = _describe_all(ec2, ImageIds=[image_id])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _IMAGE_GONE:
            return None
        raise
    if not images or images[0].get("State") == "deregistered":
        return None
    return images[0]


def wait_for_image(
    ec2: Any,
    image_id: str,
    bake_id: str | None = None,
    *,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    origin: float | None = None,
) -> None:
    """Wait until the image is available, timing looks from the progress of its
    snapshots (those tagged with ``bake_id``, when given).

    AWS calls: DescribeImages, DescribeSnapshots (polls; see ``wait_table``).
    """
    waiter = WAITS["image_available"]
    resource = f"image {image_id}"
    wait_for(
        waiter,
        waiter.probe(ec2, [image_id, bake_id] if bake_id else [image_id]),
        resource=resource,
        pacing=pacing,
        spec=spec,
        log=log,
        origin=origin,
    )


def mapped_snapshot_ids(image: Mapping[str, Any]) -> list[str]:
    """The snapshots the image's block device mappings name."""
    return sorted(
        {
            m["Ebs"]["SnapshotId"]
            for m in image.get("BlockDeviceMappings", [])
            if m.get("Ebs", {}).get("SnapshotId")
        }
    )


def image_snapshot_ids(ec2: Any, image: Mapping[str, Any]) -> list[str]:
    """Every snapshot of the image's bake: its mappings and those tagged with its bake id."""
    ids = set(mapped_snapshot_ids(image))
    bake_id = tags.to_dict(image.get("Tags")).get(tags.BAKE_ID)
    if bake_id:
        ids.update(s["SnapshotId"] for s in find_snapshots(ec2, tags.BAKE_ID, bake_id))
    return sorted(ids)


def tag_image(
    ec2: Any, image_id: str, snapshot_ids: list[str], image_tags: Mapping[str, str]
) -> None:
    """Tag the image and its snapshots (idempotent; also repairs tag drift).

    AWS calls: CreateTags.
    """
    ec2.create_tags(Resources=[image_id, *snapshot_ids], Tags=tags.to_list(image_tags))


def untag_image(ec2: Any, image_id: str, snapshot_ids: list[str], keys: list[str]) -> None:
    """Remove tag keys from the image and its snapshots.

    AWS calls: DeleteTags.
    """
    if keys:
        ec2.delete_tags(
            Resources=[image_id, *snapshot_ids], Tags=[{"Key": k} for k in sorted(keys)]
        )


@dataclass(frozen=True)
class Deregistration:
    """What ``deregister_image`` did with one image and its snapshots."""

    image_id: str
    deregistered: bool
    protected: str = ""
    """The image's DeregistrationProtection when that kept it ("" otherwise)."""
    snapshots_deleted: tuple[str, ...] = ()
    snapshots_in_use: tuple[str, ...] = ()


def _protection_on(image: Mapping[str, Any]) -> bool:
    # DescribeImages reports "disabled" when off; the other values are not listed in the
    # API reference (2026-12), so anything else counts as protected (the safe side).
    value = str(image.get("DeregistrationProtection") or "disabled")
    return value != "disabled"


def lift_protection(ec2: Any, image: Mapping[str, Any]) -> None:
    """Turn off the deregistration protection Bakery turned on (tag ``bakery:deregistration-
    protection``); protection someone else set is left alone.

    AWS calls: DisableImageDeregistrationProtection.
    """
    # Only while it is enabled: once disabled, a cooldown runs its 24 hours and asking
    # again is not needed (the reference does not say whether it would restart it).
    enabled = str(image.get("DeregistrationProtection") or "").startswith("enabled")
    if tags.PROTECTED in tags.to_dict(image.get("Tags")) and enabled:
        ec2.disable_image_deregistration_protection(ImageId=image["ImageId"])


def deregister_image(ec2: Any, image: Mapping[str, Any]) -> Deregistration:
    """Deregister the image and delete its snapshots; gone counts as done.

    DeregisterImage is sent with ``DeleteAssociatedSnapshots`` (a snapshot another image
    also uses is skipped by AWS: EC2 API reference, DeregisterImage); the snapshots of
    the image's bake that remain are then deleted one by one, and one AWS refuses as
    InvalidSnapshot.InUse is tagged ``bakery:delete-pending`` for the next run. An image
    under deregistration protection (not Bakery's, or in its 24-hour cooldown) is kept
    and reported, never an error.

    AWS calls: DescribeSnapshots, DisableImageDeregistrationProtection (Bakery's own),
    DeregisterImage, DescribeImages (when refused), DeleteSnapshot, CreateTags.
    """
    image_id = str(image["ImageId"])
    snapshot_ids = image_snapshot_ids(ec2, image)
    lift_protection(ec2, image)
    try:
        try:
            ec2.deregister_image(ImageId=image_id, DeleteAssociatedSnapshots=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _PARAMETER_REFUSED:
                raise
            # An endpoint without DeleteAssociatedSnapshots (older partitions, local
            # fakes): deregister alone, the per-snapshot delete below does the rest.
            ec2.deregister_image(ImageId=image_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _IMAGE_GONE:
            pass
        else:
            # The API reference names no error code for a protected image (2026-12):
            # look at the image rather than guess the code.
            now = describe_image(ec2, image_id)
            if now is not None and _protection_on(now):
                state = str(now.get("DeregistrationProtection"))
                return Deregistration(image_id, deregistered=False, protected=state)
            raise
    in_use = delete_snapshots(ec2, snapshot_ids)
    deleted = tuple(s for s in snapshot_ids if s not in in_use)
    return Deregistration(image_id, True, "", deleted, tuple(in_use))
