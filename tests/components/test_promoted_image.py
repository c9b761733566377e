"""PromotedImage under Pulumi mocks: the hold on the promoted image, wired and against moto.

The moto-backed engine (tests/harness/moto_engine.py) runs the ImageHold provider for
real, so each ``up`` shows the tag the source stack's retention reads.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.promoted_image import PromotedImage, PromotedImageArgs
from providers.aws import tags
from providers.aws.images.hold import hold_key
from tests.conftest import REGION, plain_image
from tests.harness.moto_engine import MotoEngine
from tests.harness.recording_mocks import RecordingMocks, Registration

STACK_REFERENCE = "pulumi:pulumi:StackReference"
SOURCE = "acme/bakery/staging"


class PromotingEngine(MotoEngine):
    """The moto engine plus stack references whose outputs the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.stacks: dict[str, dict[str, Any]] = {}
        self.holder = ""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:  # a read: no state of ours, read again every up
            stack = args.inputs["name"]
            return stack, {"name": stack, "outputs": dict(self.stacks[stack])}
        return super().new_resource(args)


class StackMocks(RecordingMocks):
    """Recording mocks whose stack references export one image."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            self.registrations.append(Registration(args.typ, args.name, {}, {}))
            return args.name, {"outputs": {"image_id": "ami-0123456789abcdef0"}}
        return super().new_resource(args)


@pytest.fixture
def engine(aws: None) -> PromotingEngine:
    return PromotingEngine()


def _holds(ec2: Any, image_id: str) -> list[str]:
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    return [k for k in tags.to_dict(image.get("Tags")) if k.startswith(tags.HELD_BY)]


def _promote(engine: PromotingEngine) -> None:
    engine.holder = f"organization/{pulumi.get_project()}/{pulumi.get_stack()}"
    PromotedImage("image", PromotedImageArgs(from_stack=SOURCE, region=REGION))


def test_promoted_image_registers_a_hold_on_the_source_image() -> None:
    recorded = StackMocks()
    pulumi.runtime.set_mocks(recorded, preview=False)

    @pulumi.runtime.test
    def program() -> Any:
        PromotedImage("image", PromotedImageArgs(from_stack=SOURCE, region=REGION))
        return pulumi.Output.from_input(None)

    program()

    hold = recorded.one(":ImageHold")
    assert hold.name == "image-hold"
    assert hold.inputs["image_id"] == "ami-0123456789abcdef0"
    assert hold.inputs["holder"] == "organization/project/stack"
    assert hold.inputs["region"] == REGION


def test_promoted_image_hold_is_set_moved_and_released_against_moto(engine) -> None:
    first, second = plain_image(engine.ec2, "golden-a"), plain_image(engine.ec2, "golden-b")
    engine.stacks[SOURCE] = {"image_id": first, "region": REGION}

    engine.up(lambda: _promote(engine))
    key = hold_key(engine.holder)
    assert _holds(engine.ec2, first) == [key]

    engine.stacks[SOURCE] = {"image_id": second, "region": REGION}
    engine.up(lambda: _promote(engine))
    assert _holds(engine.ec2, second) == [key]
    assert _holds(engine.ec2, first) == []

    engine.up(lambda: None)  # the promotion is removed from the program
    assert _holds(engine.ec2, second) == []
