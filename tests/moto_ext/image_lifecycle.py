"""moto extension: an AMI's life after the bake, as the EC2 API reference documents it.

moto 5.2 lacks or ignores these; each is modelled from the page named:

* DeregisterImage ``DeleteAssociatedSnapshots`` (ignored by moto): the image's
  snapshots are deleted with it, except one another image also uses, which is
  skipped; the result lists each snapshot's return code.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeregisterImage.html
* Deregistration protection (not implemented): Enable/DisableImageDeregistration-
  Protection, ``WithCooldown`` keeps it enforced for 24 hours after it is disabled,
  DeregisterImage is refused while it holds, DescribeImages / DescribeImageAttribute
  ``deregistrationProtection`` report it. The reference names no error code for the
  refusal; ``OperationNotPermitted`` is this model's choice (Bakery does not rely on it).
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeregistrationProtection.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisableImageDeregistrationProtection.html
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deregistration-protection.html
* ``IncludeDisabled`` (ignored by moto, which lists disabled images): a disabled AMI
  does not appear in DescribeImages unless asked for.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisableImage.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html
* EnableImageDeprecation / DisableImageDeprecation (NotImplementedError in moto):
  ``DeprecationTime`` on the image; a time in the past is refused.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html
* DescribeImageAttribute ``lastLaunchedTime`` (moto fails): the time the image last
  launched an instance. AWS reports a launch up to 24 hours late, so this model does
  not track launches: tests set it with ``record_launch``.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ImageAttribute.html

* DescribeLaunchTemplateVersions (moto cuts the answer at ``MaxResults``, 15 by
  default, and gives no ``NextToken``, so an account-wide ``$Default``/``$Latest``
  query loses templates): AWS pages with ``NextToken``; this model answers every
  version in one page, which a caller that follows ``NextToken`` reads the same.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html

Sharing needs no model: moto keeps launch permissions (LaunchPermission.Add with
UserId / OrganizationArn / OrganizationalUnitArn) and createVolumePermission
(OperationType + UserIds); tests assert on the requests for what moto cannot check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.launch_templates import LaunchTemplateBackend
from moto.ec2.responses.amis import AmisResponse

from tests.moto_ext import nesting

COOLDOWN = timedelta(hours=24)
# The wall clock of the model (tests move it to end a cooldown).
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
# Image id -> last launch time, set by tests (AWS reports launches up to a day late).
_launched: dict[str, datetime] = {}

_original: dict[str, Any] = {
    "deregister_image": AmisResponse.deregister_image,
    "describe_images": AmiBackend.describe_images,
    "describe_image_attribute": AmisResponse.describe_image_attribute,
    "describe_images_response": AmisResponse.describe_images,
    "describe_launch_template_versions": LaunchTemplateBackend.describe_launch_template_versions,
}


def record_launch(image_id: str, when: datetime) -> None:
    """Say the image launched an instance at ``when`` (lastLaunchedTime)."""
    _launched[image_id] = when


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _protection(ami: Ami) -> str:
    state = getattr(ami, "_protection", "disabled")
    until = getattr(ami, "_cooldown_until", None)
    if state == "disabled" and until is not None and clock() < until:
        return f"disabled-until-{_stamp(until)}"
    return str(state)


def _refresh(ami: Ami) -> None:
    """Put the derived attributes where moto's serializer reads them."""
    ami.deregistration_protection = _protection(ami)  # type: ignore[attr-defined]
    launched = _launched.get(ami.id)
    ami.last_launched_time = _stamp(launched) if launched else None  # type: ignore[attr-defined]


def _ami(response: AmisResponse) -> Ami:
    ami_id = response._get_param("ImageId")
    images = _original["describe_images"](response.ec2_backend, ami_ids=[ami_id])
    return images[0]


def _mapped_snapshots(ami: Ami) -> list[str]:
    return [
        m["Ebs"]["SnapshotId"]
        for m in ami.block_device_mappings
        if m.get("Ebs", {}).get("SnapshotId")
    ]


def _deregister_image(self: AmisResponse) -> Any:
    ami_id = self._get_param("ImageId")
    backend = self.ec2_backend
    ami = backend.amis.get(ami_id)
    if ami is not None and _protection(ami) != "disabled":
        raise EC2ClientError(
            "OperationNotPermitted",
            f"The AMI {ami_id} has deregistration protection enabled ({_protection(ami)})",
        )
    delete_snapshots = self._get_bool_param("DeleteAssociatedSnapshots", False)
    snapshot_ids = _mapped_snapshots(ami) if ami is not None and delete_snapshots else []
    result = _original["deregister_image"](self)
    if not delete_snapshots:
        return result
    codes = []
    for snapshot_id in snapshot_ids:
        shared = any(snapshot_id in _mapped_snapshots(other) for other in backend.amis.values())
        if shared or snapshot_id not in backend.snapshots:
            codes.append({"SnapshotId": snapshot_id, "ReturnCode": "skipped"})
            continue
        backend.snapshots.pop(snapshot_id)
        codes.append({"SnapshotId": snapshot_id, "ReturnCode": "success"})
    return ActionResult({"Return": True, "DeleteSnapshotResults": codes})


def _enable_protection(self: AmisResponse) -> Any:
    ami = _ami(self)
    cooldown = self._get_bool_param("WithCooldown", False)
    ami._protection = "enabled-with-cooldown" if cooldown else "enabled-without-cooldown"  # type: ignore[attr-defined]
    ami._cooldown_until = None  # type: ignore[attr-defined]
    return ActionResult({"Return": "true"})


def _disable_protection(self: AmisResponse) -> Any:
    ami = _ami(self)
    if getattr(ami, "_protection", "disabled") == "enabled-with-cooldown":
        ami._cooldown_until = clock() + COOLDOWN  # type: ignore[attr-defined]
    ami._protection = "disabled"  # type: ignore[attr-defined]
    return ActionResult({"Return": "true"})


def _enable_deprecation(self: AmisResponse) -> Any:
    ami = _ami(self)
    raw = self._get_param("DeprecateAt")
    when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when < clock():
        raise EC2ClientError(
            "InvalidParameterValue", f"DeprecateAt {raw} is in the past; specify a future time"
        )
    ami.deprecation_time = _stamp(when.replace(second=0, microsecond=0))  # type: ignore[attr-defined]
    return ActionResult({"Return": True})


def _disable_deprecation(self: AmisResponse) -> Any:
    ami = _ami(self)
    ami.deprecation_time = None  # type: ignore[attr-defined]
    return ActionResult({"Return": True})


def _describe_images(self: AmiBackend, *args: Any, **kwargs: Any) -> list[Ami]:
    images = _original["describe_images"](self, *args, **kwargs)
    for ami in images:
        _refresh(ami)
    return list(images)


def _describe_images_response(self: AmisResponse) -> Any:
    result = _original["describe_images_response"](self)
    payload = result.result
    if not self._get_bool_param("IncludeDisabled", False) and isinstance(payload, dict):
        payload["Images"] = [i for i in payload["Images"] if i.state != "disabled"]
    return result


def _describe_launch_template_versions(self: Any, *args: Any, **kwargs: Any) -> Any:
    kwargs["max_results"] = 1_000_000  # every version, one page (see the docstring)
    return _original["describe_launch_template_versions"](self, *args, **kwargs)


def _describe_image_attribute(self: AmisResponse) -> Any:
    attribute = self._get_param("Attribute")
    if attribute == "deregistrationProtection":
        ami = _ami(self)
        return ActionResult(
            {"ImageId": ami.id, "DeregistrationProtection": {"Value": _protection(ami)}}
        )
    if attribute == "lastLaunchedTime":
        ami = _ami(self)
        launched = _launched.get(ami.id)
        value = {"Value": _stamp(launched)} if launched else {}
        return ActionResult({"ImageId": ami.id, "LastLaunchedTime": value})
    return _original["describe_image_attribute"](self)


def install() -> None:
    """Patch moto for good (a moto server process that serves tests)."""
    AmisResponse.deregister_image = _deregister_image  # type: ignore[method-assign]
    AmisResponse.describe_images = _describe_images_response  # type: ignore[method-assign]
    AmisResponse.describe_image_attribute = _describe_image_attribute  # type: ignore[method-assign]
    AmisResponse.enable_image_deregistration_protection = _enable_protection  # type: ignore[attr-defined]
    AmisResponse.disable_image_deregistration_protection = _disable_protection  # type: ignore[attr-defined]
    AmisResponse.enable_image_deprecation = _enable_deprecation  # type: ignore[attr-defined]
    AmisResponse.disable_image_deprecation = _disable_deprecation  # type: ignore[attr-defined]
    AmiBackend.describe_images = _describe_images  # type: ignore[method-assign]
    LaunchTemplateBackend.describe_launch_template_versions = _describe_launch_template_versions  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto back as it was."""
    AmisResponse.deregister_image = _original["deregister_image"]  # type: ignore[method-assign]
    AmisResponse.describe_images = _original["describe_images_response"]  # type: ignore[method-assign]
    AmisResponse.describe_image_attribute = _original["describe_image_attribute"]  # type: ignore[method-assign]
    for name in (
        "enable_image_deregistration_protection",
        "disable_image_deregistration_protection",
        "enable_image_deprecation",
        "disable_image_deprecation",
    ):
        if name in AmisResponse.__dict__:
            delattr(AmisResponse, name)
    AmiBackend.describe_images = _original["describe_images"]  # type: ignore[method-assign]
    LaunchTemplateBackend.describe_launch_template_versions = _original[  # type: ignore[method-assign]
        "describe_launch_template_versions"
    ]
    _launched.clear()


installed = nesting(install, uninstall)
"""Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests."""
