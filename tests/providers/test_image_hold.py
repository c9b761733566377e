"""ImageHoldProvider's methods: check failures, replacement on a new image, create/delete."""

from __future__ import annotations

from providers.aws import tags
from providers.aws.images.hold import hold_key
from providers.dynamic_props import UNKNOWN
from providers.image_hold import ImageHoldProvider
from tests.conftest import REGION, plain_image

PROPS = {"image_id": "ami-0123456789abcdef0", "holder": "acme/bakery/prod", "region": REGION}


def test_image_hold_check_names_each_bad_field() -> None:
    result = ImageHoldProvider().check(
        {}, {"image_id": "img-1", "holder": "a*b", "region": "mars-1"}
    )

    assert sorted(f.property for f in result.failures) == ["holder", "image_id", "region"]


def test_image_hold_check_accepts_an_image_unknown_at_preview() -> None:
    assert ImageHoldProvider().check({}, {**PROPS, "image_id": UNKNOWN}).failures == []


def test_image_hold_diff_replaces_when_the_image_changes() -> None:
    diff = ImageHoldProvider().diff("x", PROPS, {**PROPS, "image_id": "ami-0fedcba9876543210"})

    assert diff.replaces == ["image_id"] and diff.delete_before_replace is False
    assert not ImageHoldProvider().diff("x", PROPS, dict(PROPS)).changes


def test_image_hold_create_then_delete_tags_and_untags_the_image(ec2) -> None:
    image_id = plain_image(ec2)
    props = {**PROPS, "image_id": image_id}

    created = ImageHoldProvider().create(props)
    found = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert hold_key("acme/bakery/prod") in tags.to_dict(found["Tags"])
    assert created.outs["held"] is True

    ImageHoldProvider().delete(created.id, created.outs)
    found = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert hold_key("acme/bakery/prod") not in tags.to_dict(found.get("Tags"))
