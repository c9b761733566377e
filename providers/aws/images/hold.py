"""Holds: a promoting stack's mark on the image it runs, so retention leaves it alone.

A hold is one tag on the image, ``bakery:held-by:<org>/<project>/<stack>``, whose value
is when it was set. The in-use guard (``image_use.py``) counts any hold as use. Tags are
per image and per key, so holds of several stacks on one image are independent, and
setting or removing one is idempotent.

Only the image's owner can tag it: an image in another account cannot be held from
here (CreateTags needs ownership); it is shared with this account instead, and the
guard keeps shared images unless ``prune_shared`` (EC2 User Guide, "Tag your Amazon EC2
resources": you can tag only resources you own).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.callbacks import Now
from providers.aws.errors import InvalidInputError

# Tag keys: up to 128 characters of letters, digits, spaces and + - = . _ : / @
# (EC2 User Guide, "Tag restrictions").
MAX_KEY = 128
_HOLDER = re.compile(r"^[A-Za-z0-9 +\-=._:/@]+$")
_IMAGE_GONE = ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed")


def check_holder(value: Any, field: str = "holder") -> list[InvalidInputError]:
    """A holder name usable in a tag key (``org/project/stack``)."""
    if isinstance(value, str) and value and _HOLDER.match(value):
        return []
    return [
        InvalidInputError(
            field, value, "expected org/project/stack of letters, digits and + - = . _ : / @"
        )
    ]


def hold_key(holder: str) -> str:
    """The tag key of a hold; a holder too long for a tag key is shortened with a hash."""
    key = f"{tags.HELD_BY}{holder}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(holder.encode()).hexdigest()[:12]
    return f"{key[: MAX_KEY - 13]}~{digest}"


def _owned(ec2: Any, image_id: str) -> bool:
    """Whether the image exists (disabled counts) and belongs to this account."""
    pages = ec2.get_paginator("describe_images").paginate(
        Owners=["self"],
        IncludeDisabled=True,
        Filters=[{"Name": "image-id", "Values": [image_id]}],
    )
    return any(i.get("State") != "deregistered" for page in pages for i in page["Images"])


def hold_image(ec2: Any, image_id: str, holder: str, *, now: Now = tags.utcnow) -> bool:
    """Put the holder's hold on the image (idempotent).

    AWS calls: DescribeImages, CreateTags.

    Returns:
        True if held; False if the image belongs to another account (cannot be tagged
        from here) or is gone.
    """
    if not _owned(ec2, image_id):
        return False
    ec2.create_tags(
        Resources=[image_id], Tags=[{"Key": hold_key(holder), "Value": tags.stamp(now())}]
    )
    return True


def release_hold(ec2: Any, image_id: str, holder: str) -> None:
    """Remove the holder's hold; an image that is gone or not ours counts as released.

    AWS calls: DescribeImages, DeleteTags.
    """
    if _owned(ec2, image_id):
        ec2.delete_tags(Resources=[image_id], Tags=[{"Key": hold_key(holder)}])


def is_held(ec2: Any, image_id: str, holder: str) -> bool:
    """Whether the image carries the holder's hold.

    AWS calls: DescribeImages.
    """
    try:
        images = ec2.describe_images(ImageIds=[image_id], IncludeDisabled=True)["Images"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _IMAGE_GONE:
            return False
        raise
    return bool(images) and hold_key(holder) in tags.to_dict(images[0].get("Tags"))
