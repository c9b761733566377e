"""What one bake is asked to do (BakeRequest) and what it made (BakedImageInfo)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws import tags
from providers.aws.concurrent_reads import read_all
from providers.aws.errors import ImageNameTakenError
from providers.aws.images.amis import (
    describe_image,
    find_image_by_name,
    find_images,
    image_snapshot_ids,
)
from providers.aws.rules.bake_steps import CommandSpec, PatchSpec, VerifySpec
from providers.aws.wait_table import START_RETRY, TIMEOUT_WAITERS, WAITS
from providers.aws.waits import WaitSpec


@dataclass(frozen=True)
class BakeRequest:
    """Everything one bake needs; built by the adapter from validated props."""

    instance_id: str
    name: str
    bake_id: str
    lineage: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    consistency: str = "stop"
    restore_state: bool = True
    timeouts_min: Mapping[str, float] = field(default_factory=dict)
    # The steps around the image (rules/bake_steps.py); None: not asked for.
    patch: PatchSpec | None = None
    prepare: CommandSpec | None = None
    restore: CommandSpec | None = None
    verify: VerifySpec | None = None

    def spec(self, waiter_name: str) -> WaitSpec:
        """The waiter's cadence with the user's deadline, if one was given."""
        spec = WAITS[waiter_name].spec
        if waiter_name == "image_available":  # the image is done when its snapshots are
            given = [k for k in ("snapshots", "image") if k in self.timeouts_min]
            if given:
                minutes = float(self.timeouts_min.get("snapshots", 480.0))
                return spec.with_deadline(
                    (minutes + float(self.timeouts_min.get("image", 120.0))) * 60.0
                )
            return spec
        for key, waiters in TIMEOUT_WAITERS.items():
            if waiter_name in waiters and key in self.timeouts_min:
                return spec.with_deadline(float(self.timeouts_min[key]) * 60.0)
        return spec

    @property
    def hold_s(self) -> float:
        """How long this bake may hold the instance: stop, snapshots, start (and retries)."""
        parts = ("instance_stopped", "image_snapshots_started", "instance_running")
        others = WAITS["volume_snapshots_idle"].spec.deadline_s  # pre-stop wait
        # Prepare and restore run while the instance is held (stop, reboot).
        commands = sum(c.timeout_s for c in (self.prepare, self.restore) if c is not None)
        return (
            sum(self.spec(p).deadline_s for p in parts) + START_RETRY.deadline_s + others + commands
        )


@dataclass(frozen=True)
class BakedImageInfo:
    """A baked image as outputs and ``read`` report it."""

    image_id: str
    name: str
    state: str
    snapshot_ids: tuple[str, ...]
    root_device_name: str
    architecture: str
    source_instance_id: str
    created_at: str
    downtime_seconds: float
    description: str
    bake_id: str
    lineage: str
    user_tags: dict[str, str]


def image_info(ec2: Any, image: Mapping[str, Any]) -> BakedImageInfo:
    image_tags = tags.to_dict(image.get("Tags"))
    mappings = image.get("BlockDeviceMappings", [])
    return BakedImageInfo(
        image_id=image["ImageId"],
        name=image.get("Name", ""),
        state=image.get("State", ""),
        snapshot_ids=tuple(image_snapshot_ids(ec2, image)),
        root_device_name=image.get("RootDeviceName")
        or (mappings[0]["DeviceName"] if mappings else ""),
        architecture=image.get("Architecture", ""),
        source_instance_id=image_tags.get(tags.SOURCE_INSTANCE, ""),
        created_at=image_tags.get(tags.BAKED_AT) or image.get("CreationDate", ""),
        downtime_seconds=float(image_tags.get(tags.DOWNTIME_S) or 0.0),
        description=image.get("Description", ""),
        bake_id=image_tags.get(tags.BAKE_ID, ""),
        lineage=image_tags.get(tags.LINEAGE, ""),
        user_tags=tags.user_tags(image_tags),
    )


def describe_baked_image(ec2: Any, image_id: str) -> BakedImageInfo | None:
    """The image as Bakery reports it, or None if it is gone.

    AWS calls: DescribeImages, DescribeSnapshots.
    """
    image = describe_image(ec2, image_id)
    return image_info(ec2, image) if image else None


def own_image(ec2: Any, req: BakeRequest, *, reads_at_once: bool = False) -> dict[str, Any] | None:
    """An image of this bake id (adopt it), checking the name is not someone else's.

    The bake reads the name only when there is nothing to adopt; check
    (``reads_at_once``) reads both at once, one round trip instead of two, since the
    engine checks one resource at a time (providers/aws/concurrent_reads.py).

    AWS calls: DescribeImages (by bake id), DescribeImages (by name).

    Raises:
        ImageNameTakenError: the name belongs to an image of another bake.
    """
    if reads_at_once:
        found, named = read_all(
            lambda: find_images(ec2, tags.BAKE_ID, req.bake_id),
            lambda: find_image_by_name(ec2, req.name),
        )
        return _adopted_or_name_free(req, found, lambda: named)
    found = find_images(ec2, tags.BAKE_ID, req.bake_id)
    return _adopted_or_name_free(req, found, lambda: find_image_by_name(ec2, req.name))


def _adopted_or_name_free(
    req: BakeRequest,
    of_bake: list[dict[str, Any]],
    named: Callable[[], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """The newest live image of the bake id; else None once the name is free."""
    mine = [i for i in of_bake if i.get("State") != "deregistered"]
    if mine:
        return max(mine, key=lambda i: i.get("CreationDate", ""))
    holder = named()
    if holder is not None:
        raise ImageNameTakenError(req.name, holder["ImageId"])
    return None
