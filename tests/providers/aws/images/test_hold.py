"""Holds against moto: set, found by the in-use guard, released; other accounts' images."""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from providers.aws import tags
from providers.aws.images.hold import check_holder, hold_image, hold_key, is_held, release_hold
from providers.aws.images.use import image_uses
from tests.conftest import REGION, plain_image

HOLDER = "acme/bakery/prod"


def _image(ec2: Any) -> dict[str, Any]:
    image_id = plain_image(ec2)
    return dict(ec2.describe_images(ImageIds=[image_id])["Images"][0])


def test_hold_image_tags_it_and_the_guard_sees_the_holder(ec2, autoscaling) -> None:
    image = _image(ec2)

    assert hold_image(ec2, image["ImageId"], HOLDER)
    assert hold_image(ec2, image["ImageId"], HOLDER)  # idempotent

    held = ec2.describe_images(ImageIds=[image["ImageId"]])["Images"]
    assert image_uses(ec2, autoscaling, held)[image["ImageId"]] == [f"held by {HOLDER}"]
    assert is_held(ec2, image["ImageId"], HOLDER)


def test_release_hold_removes_only_that_holders_tag(ec2) -> None:
    image = _image(ec2)
    hold_image(ec2, image["ImageId"], HOLDER)
    hold_image(ec2, image["ImageId"], "acme/bakery/eu")

    release_hold(ec2, image["ImageId"], HOLDER)

    found = tags.to_dict(ec2.describe_images(ImageIds=[image["ImageId"]])["Images"][0]["Tags"])
    assert [k for k in found if k.startswith(tags.HELD_BY)] == [hold_key("acme/bakery/eu")]


def test_release_hold_of_a_gone_image_succeeds(ec2) -> None:
    image = _image(ec2)
    hold_image(ec2, image["ImageId"], HOLDER)
    ec2.deregister_image(ImageId=image["ImageId"])

    release_hold(ec2, image["ImageId"], HOLDER)

    assert not is_held(ec2, image["ImageId"], HOLDER)


def test_hold_image_of_another_account_is_not_attempted(ec2) -> None:
    image = _image(ec2)
    ec2_backends[DEFAULT_ACCOUNT_ID][REGION].amis[image["ImageId"]].owner_id = "999988887777"

    assert not hold_image(ec2, image["ImageId"], HOLDER)
    assert not is_held(ec2, image["ImageId"], HOLDER)


def test_hold_key_of_a_long_holder_fits_a_tag_key() -> None:
    long_holder = "acme/" + "p" * 100 + "/" + "s" * 60

    key = hold_key(long_holder)

    assert len(key) == 128 and key.startswith(tags.HELD_BY)
    assert key != hold_key(long_holder + "x")


def test_check_holder_refuses_characters_a_tag_key_cannot_hold() -> None:
    assert check_holder("acme/bakery/prod") == []
    assert check_holder("acme/bakery/pr*d")[0].field == "holder"
    assert check_holder("")[0].field == "holder"
