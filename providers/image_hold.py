"""ImageHold: a dynamic resource for "this stack runs that image; do not prune it".

``PromotedImage`` registers one for the image it takes from another stack. Create puts
the hold tag on the image, delete removes it; a change of image (or holder, or region)
replaces the resource, so the new image is held before the old one is released
(Pulumi creates the replacement first). Adapts ``providers.aws.images.hold``.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
)

from providers.aws.clients import Clients
from providers.aws.images import hold as image_hold
from providers.aws.rules import validation
from providers.dynamic_props import UNKNOWN, changed, known, progress

REPLACE_KEYS = ("image_id", "holder", "region", "endpoint_url")


class ImageHoldProvider(ResourceProvider):
    """CRUD for ImageHold. Pickled into state: plain data only, no clients."""

    serialize_as_secret_always = False

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """The image id, holder, region and endpoint are well formed (nothing is read)."""
        problems = []
        if news.get("image_id") != UNKNOWN:
            problems += validation.check_image_id(news.get("image_id"))
        if news.get("holder") != UNKNOWN:
            problems += image_hold.check_holder(news.get("holder"))
        if known(news.get("region")):
            problems += validation.check_region(news.get("region"))
        if known(news.get("endpoint_url")):
            problems += validation.check_endpoint_url(news.get("endpoint_url"))
        return CheckResult(news, [CheckFailure(p.field, str(p)) for p in problems])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Any change is a new hold (held first, the old one released after)."""
        replaces = changed(olds, news, REPLACE_KEYS)
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Hold the image; an image of another account cannot be tagged and is only noted."""
        ec2 = Clients.for_props(props).ec2
        held = image_hold.hold_image(ec2, props["image_id"], props["holder"])
        if not held:
            progress(
                f"{props['holder']}: {props['image_id']} is not this account's image; no hold "
                "is set (its owner's retention keeps it while it is shared)"
            )
        return CreateResult(f"{props['image_id']}/{props['holder']}", {**props, "held": held})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Report whether the hold is still on the image."""
        held = image_hold.is_held(Clients.for_props(props).ec2, props["image_id"], props["holder"])
        return ReadResult(id_, {**props, "held": held})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Release the hold (an image that is gone counts as released)."""
        image_hold.release_hold(Clients.for_props(props).ec2, props["image_id"], props["holder"])


class ImageHold(Resource, module="bakery", name="ImageHold"):
    """A hold naming ``holder`` on ``image_id``; retention keeps a held image."""

    held: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        image_id: pulumi.Input[str],
        holder: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "image_id": image_id,
            "holder": holder,
            "region": region,
            "endpoint_url": endpoint_url,
            "held": None,
        }
        super().__init__(ImageHoldProvider(), resource_name, props, opts)
