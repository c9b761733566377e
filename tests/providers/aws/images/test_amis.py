"""The find/deregister side of images.py against moto (tests/moto_ext/image_lifecycle.py)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.images.amis import deregister_image, describe_image, find_images
from tests.conftest import plain_image
from tests.recording import CallRecorder


def _tagged_image(ec2: Any) -> dict[str, Any]:
    image_id = plain_image(ec2)
    ec2.create_tags(Resources=[image_id], Tags=[{"Key": tags.LINEAGE, "Value": "l"}])
    return dict(ec2.describe_images(ImageIds=[image_id])["Images"][0])


def _snapshots(ec2: Any) -> list[str]:
    return [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]]


def test_find_images_and_describe_image_include_disabled_images(ec2) -> None:
    image = _tagged_image(ec2)
    ec2.disable_image(ImageId=image["ImageId"])

    assert [i["ImageId"] for i in find_images(ec2, tags.LINEAGE, "l")] == [image["ImageId"]]
    assert describe_image(ec2, image["ImageId"]) is not None
    assert ec2.describe_images(Owners=["self"])["Images"] == []  # AWS hides it by default


def test_deregister_image_falls_back_when_the_endpoint_refuses_delete_associated_snapshots(
    ec2,
) -> None:
    image = _tagged_image(ec2)
    calls = CallRecorder().attach(ec2)

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if "DeleteAssociatedSnapshots" in params:
            raise ClientError(
                {"Error": {"Code": "UnknownParameter", "Message": "no such parameter"}},
                "DeregisterImage",
            )

    ec2.meta.events.register("before-parameter-build.ec2.DeregisterImage", refuse)

    done = deregister_image(ec2, image)

    assert done.deregistered and not done.protected
    assert [c.get("DeleteAssociatedSnapshots") for c in calls.of("DeregisterImage")] == [
        True,
        None,
    ]
    assert _snapshots(ec2) == []


def test_deregister_image_protected_by_someone_else_is_kept_and_reported(ec2) -> None:
    image = _tagged_image(ec2)
    ec2.enable_image_deregistration_protection(ImageId=image["ImageId"])
    calls = CallRecorder().attach(ec2)

    done = deregister_image(ec2, image)

    assert done.protected == "enabled-without-cooldown" and not done.deregistered
    assert calls.of("DisableImageDeregistrationProtection") == []
    assert describe_image(ec2, image["ImageId"]) is not None
    assert len(_snapshots(ec2)) == 1


def test_deregister_image_already_gone_is_done(ec2) -> None:
    image = _tagged_image(ec2)
    ec2.deregister_image(ImageId=image["ImageId"])

    done = deregister_image(ec2, image)

    assert done.deregistered
    assert _snapshots(ec2) == []
