"""Bakery's tag keys and the small conversions between AWS tag lists and dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

PREFIX = "bakery:"
BAKE_ID = "bakery:bake-id"
LINEAGE = "bakery:lineage"
BAKED_AT = "bakery:baked-at"
SOURCE_INSTANCE = "bakery:source-instance"
DOWNTIME_S = "bakery:downtime-seconds"
# On an image, what its bake saw of the source instance: how many seconds after the
# request its stop was last seen still under way, and its start seen done. The next
# bake of the lineage makes its first near look at them
# (providers/aws/wait_table.py): AWS documents no duration for either.
STOP_S = "bakery:stop-seconds"
START_S = "bakery:start-seconds"
RETIRED_AT = "bakery:retired-at"
# A promoting stack's hold on an image it runs: ``bakery:held-by:<org>/<project>/<stack>``.
HELD_BY = "bakery:held-by:"
# On an image whose deregistration protection Bakery turned on (so Bakery may lift it).
PROTECTED = "bakery:deregistration-protection"
# On a regional copy: the source image it was copied from (removed with it).
COPY_OF = "bakery:copy-of"
# On a snapshot whose deletion AWS refused (InvalidSnapshot.InUse): the next run retries.
DELETE_PENDING = "bakery:delete-pending"
# On the source instance while a bake holds it stopped: who stopped it, and the state
# to put back. A retry after a crash reads these to restore what the first run found.
STOPPED_BY = "bakery:stopped-by"
RESTORE_STATE = "bakery:restore-state"
# With the stop note: when the hold expires (the holding bake's own deadlines from its
# start). Another bake refuses at check while it is in the future and takes over after.
HELD_UNTIL = "bakery:held-until"
# On Auto Scaling groups (providers/aws/fleet/cutover.py): the fleet id a group belongs to,
# and the serving token (the fleet id) a successful cutover writes on its group.
FLEET = "bakery:fleet"
# On a verify's test instance and its volumes (providers/aws/bake/verify.py): the image it
# was launched from. With ``bakery:bake-id`` it finds what a killed run left running.
VERIFY_OF = "bakery:verify-of"
# On an image and its snapshots once verified: when it passed, or why it failed.
VERIFIED = "bakery:verified"
VERIFY_FAILED = "bakery:verify-failed"
SERVING = "bakery:serving"
# On the source instance: the Run Command a bake step sent (``<bake id> <command id>``),
# written right after SendCommand so a retry of the same bake waits for that command
# instead of running it twice (providers/aws/bake/commands.py).
COMMAND = "bakery:command:"


def command_tag(step: str) -> str:
    """The tag key naming the command a bake sent for ``step`` (``bakery:command:patch``)."""
    return f"{COMMAND}{step}"


def to_dict(tag_list: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS ``[{"Key":..,"Value":..}]`` to a dict."""
    return {t["Key"]: t.get("Value", "") for t in tag_list or ()}


def to_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A dict to AWS ``[{"Key":..,"Value":..}]``, sorted for stable requests."""
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a user owns: everything but Bakery's own and AWS's reserved ones."""
    return {k: v for k, v in tags.items() if not k.startswith((PREFIX, "aws:"))}


def spec(resource_type: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """A TagSpecifications list: tag at creation, so nothing exists untagged."""
    return [{"ResourceType": resource_type, "Tags": to_list(tags)}]


def utcnow() -> datetime:
    """The wall clock in UTC (injected as ``now`` where tests need to order bakes)."""
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A sortable UTC timestamp with microseconds (tags order a lineage's bakes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
