"""PromotedImage: the image a stack hands on, taken from another stack, copied, shared.

Promotion runs the AMI another stack tested instead of baking again:

* ``from_stack`` reads that stack's ``image_id`` output (a ``StackReference``; the
  stack must be readable with the same backend and credentials). With nothing else
  set, this stack runs *exactly* that AMI, and no ``aws:*`` resource is created.
* ``copy`` (implied when ``source_region`` differs from ``region``) makes an
  ``aws.ec2.AmiCopy`` owned by this stack, optionally re-encrypted with
  ``kms_key_id``. Copies are ``retain_on_delete``: a replaced copy stays registered
  so that the fleet can still roll back to it (the launch template's previous
  version names it); find and deregister old ones by their ``bakery:promotion`` tag.
* ``from_stack``'s image is *held* by this stack (``ImageHold``: a tag
  ``bakery:held-by:<org>/<project>/<stack>`` on the source image), so that the source
  stack's retention does not prune it while this stack runs it (or copies it); the
  hold moves when the referenced image changes and goes when this stack is destroyed.
  An image in another account cannot be tagged from here: its owner's retention keeps
  it while it is shared (``prune_shared`` false).
* ``share_with_accounts`` adds an ``aws.ec2.AmiLaunchPermission`` per account on the
  image this stack runs (promoted, copied or, with ``image_id``, baked here), so a
  stack in another account can promote it in turn.

Bad input raises ``InvalidInputError`` in the constructor, so preview fails early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from providers.aws.errors import InvalidInputError
from providers.aws.rules import validation
from providers.image_hold import ImageHold

PROMOTED_FROM_TAG = "bakery:promoted-from"
PROMOTION_TAG = "bakery:promotion"
SOURCE_IMAGE_TAG = "bakery:source-image"


@dataclass
class PromotedImageArgs:
    """Where the image comes from and where it goes. Give ``image_id`` or ``from_stack``."""

    image_id: pulumi.Input[str] | None = None
    """An image this stack already has (a ``BakedImage``'s), to share."""
    snapshot_ids: pulumi.Input[Sequence[str]] | None = None
    """The snapshots of ``image_id``, passed through to the outputs."""
    from_stack: str | None = None
    """A stack (``org/project/stack``) whose ``image_id`` output to run."""
    source_region: str | None = None
    """The region of that stack's image; None: ``region``."""
    region: str | None = None
    """This stack's region (``aws:region``)."""
    copy: bool = False
    """Copy the image into this stack even within one region."""
    kms_key_id: str | None = None
    """A KMS key ARN to encrypt the copy with."""
    share_with_accounts: Sequence[str] = field(default_factory=tuple)
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the copy."""
    endpoint_url: str | None = None
    """A local AWS endpoint (moto) for the hold on the source image; never for real AWS."""

    @property
    def copies(self) -> bool:
        return self.from_stack is not None and (
            self.copy or (self.source_region is not None and self.source_region != self.region)
        )


def check_args(args: PromotedImageArgs) -> list[InvalidInputError]:
    """Every problem with ``args``, each naming the field and the fix."""
    problems: list[InvalidInputError] = []
    if (args.image_id is None) == (args.from_stack is None):
        problems.append(
            InvalidInputError(
                "from_stack",
                args.from_stack,
                "give exactly one of image_id (an image of this stack) and from_stack",
            )
        )
    if args.image_id is not None and (args.copy or args.source_region or args.kms_key_id):
        problems.append(
            InvalidInputError(
                "copy", args.copy, "copy, source_region and kms_key_id apply to from_stack only"
            )
        )
    if args.copies and (args.source_region or args.region) is None:
        problems.append(
            InvalidInputError(
                "region", None, "a copy needs the source region: set aws:region for the stack"
            )
        )
    for account in args.share_with_accounts:
        if not isinstance(account, str) or not account.isdigit() or len(account) != 12:
            problems.append(
                InvalidInputError(
                    "share_with_accounts", account, "expected 12-digit account ids as text"
                )
            )
    return problems


def _source_image(image_id: Any, region: Any, *, from_stack: str, expected: str | None) -> str:
    """The referenced stack's image id, after checking it is an AMI in the expected region."""
    problems = validation.check_image_id(image_id, f"image_id output of stack {from_stack}")
    if problems:
        raise problems[0]
    if expected is not None and region and region != expected:
        raise InvalidInputError(
            "source_region",
            expected,
            f"stack {from_stack} made {image_id} in {region}; set bakery:promote.source_region "
            f"to {region} (the image is then copied into this stack's region)",
        )
    return str(image_id)


def _holder() -> str:
    """This stack as ``org/project/stack`` (a DIY backend's organization is "organization")."""
    org = pulumi.get_organization() or "organization"
    return f"{org}/{pulumi.get_project()}/{pulumi.get_stack()}"


class PromotedImage(pulumi.ComponentResource):
    """The AMI this stack runs when it promotes one, and the accounts it is shared with.

    Outputs: ``image_id`` (what the fleet launches), ``snapshot_ids``, and
    ``source_image_id`` (the referenced or given image, before any copy).
    """

    image_id: pulumi.Output[str]
    snapshot_ids: pulumi.Output[list[str]]
    source_image_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: PromotedImageArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = check_args(args)
        if problems:
            raise problems[0]
        super().__init__("bakery:index:PromotedImage", resource_name, None, opts)
        name = resource_name
        child = pulumi.ResourceOptions(parent=self)

        source: pulumi.Output[str]
        snapshot_ids: pulumi.Output[Any]
        if args.from_stack is not None:
            from_stack = args.from_stack
            expected = args.source_region or args.region
            ref = pulumi.StackReference(f"{name}-source", stack_name=from_stack, opts=child)
            source = pulumi.Output.all(
                ref.require_output("image_id"), ref.get_output("region")
            ).apply(
                lambda found: _source_image(
                    found[0], found[1], from_stack=from_stack, expected=expected
                )
            )
            snapshot_ids = ref.get_output("snapshot_ids")
            ImageHold(
                f"{name}-hold",
                image_id=source,
                holder=_holder(),
                region=args.source_region or args.region,
                endpoint_url=args.endpoint_url,
                opts=child,
            )
        else:
            source = pulumi.Output.from_input(args.image_id).apply(str)
            snapshot_ids = pulumi.Output.from_input(args.snapshot_ids or [])

        image: pulumi.Output[str] = source
        if args.copies:
            promotion = f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
            base = validation.safe_image_name(promotion.replace("/", "-"))[:100]
            copy = aws.ec2.AmiCopy(
                f"{name}-copy",
                name=source.apply(lambda ami: f"{base}-{ami}"),
                description=source.apply(
                    lambda ami: f"{ami} promoted from {args.from_stack} by Bakery"[:255]
                ),
                source_ami_id=source,
                source_ami_region=args.source_region or args.region,
                encrypted=True if args.kms_key_id else None,
                kms_key_id=args.kms_key_id,
                tags={
                    **args.tags,
                    PROMOTED_FROM_TAG: str(args.from_stack),
                    PROMOTION_TAG: promotion,
                    SOURCE_IMAGE_TAG: source,
                },
                # Kept when replaced: the launch template's previous version (the
                # fleet's rollback target) still names it. See the module docstring.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            image = copy.id
            snapshot_ids = copy.ebs_block_devices.apply(
                lambda devices: sorted(d.snapshot_id for d in devices or [] if d.snapshot_id)
            )

        for account in args.share_with_accounts:
            aws.ec2.AmiLaunchPermission(
                f"{name}-share-{account}",
                image_id=image,
                account_id=account,
                opts=child,
            )

        self.image_id = image
        self.snapshot_ids = pulumi.Output.from_input(snapshot_ids).apply(lambda s: list(s or []))
        self.source_image_id = source
        self.register_outputs(
            {
                "image_id": self.image_id,
                "snapshot_ids": self.snapshot_ids,
                "source_image_id": self.source_image_id,
            }
        )
