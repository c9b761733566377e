"""Who holds the golden instance during a bake: the stop note on the instance itself.

Before a bake stops (or reboots) the instance it tags it ``bakery:stopped-by`` (its
bake id), ``bakery:restore-state`` (the state to put back) and ``bakery:held-until``
(when the note stops counting: the holder's own deadlines for stop, snapshots and
start). So a run that dies while the instance is down leaves a note the next run
reads to restore it, and two bakes of one instance (e.g. the ``dev`` and ``staging``
stacks at once) take turns instead of fighting over stop and start:

- a note of another bake that is still valid is waited out (bounded by its
  ``held-until``); a stale one (past it, or written by a Bakery without
  ``held-until``) is taken over, keeping its restore state, and the log says so;
- EC2 tags have no compare-and-set, so after writing its note a bake reads it back
  after ``CLAIM_SETTLE_S``: if another bake's write landed meanwhile (last writer
  wins), the one whose note is there goes on and the other waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from providers.aws import tags
from providers.aws.bake.source_instance import describe_instance
from providers.aws.callbacks import Log, Now
from providers.aws.errors import BakeryError, InstanceStillHeldError
from providers.aws.wait_table import WAITS
from providers.aws.waits import Outcome, Pacing, wait_for

CLAIM_SETTLE_S = 2.0


@dataclass(frozen=True)
class Note:
    """A stop note as read from the instance's tags."""

    bake_id: str
    restore_state: str
    held_until: str  # "" for notes written before held-until existed

    def live(self, now: datetime) -> bool:
        return bool(self.held_until) and self.held_until > tags.stamp(now)


@dataclass(frozen=True)
class Hold:
    """A hold this bake has: what to restore, and the instance's state in the read
    that confirmed the note (so the stop that follows need not read it again)."""

    restore_state: str
    state: str


def note_of(instance_tags: dict[str, str]) -> Note | None:
    """The stop note in these tags, if any."""
    holder = instance_tags.get(tags.STOPPED_BY)
    if not holder:
        return None
    return Note(
        holder, instance_tags.get(tags.RESTORE_STATE, ""), instance_tags.get(tags.HELD_UNTIL, "")
    )


def read_note(ec2: Any, instance_id: str) -> Note | None:
    """The instance's stop note now (DescribeInstances)."""
    return _read_held(ec2, instance_id)[0]


def _read_held(ec2: Any, instance_id: str) -> tuple[Note | None, str]:
    """The instance's stop note and its state, from one DescribeInstances."""
    instance = describe_instance(ec2, instance_id)
    return note_of(tags.to_dict(instance.get("Tags"))), str(instance["State"]["Name"])


def _wait_out(
    ec2: Any, instance_id: str, bake_id: str, note: Note, pacing: Pacing, now: Now, log: Log
) -> None:
    """Wait until another bake's note is gone, ours, or stale (its held-until passed)."""
    log(f"instance {instance_id} is held by bake {note.bake_id} until {note.held_until}; waiting")
    start = pacing.clock()

    def probe() -> tuple[Outcome, object]:
        seen = read_note(ec2, instance_id)
        if seen is None or seen.bake_id == bake_id or not seen.live(now()):
            return Outcome.SUCCESS, "released"
        return Outcome.RETRY, f"held by {seen.bake_id}"

    try:
        wait_for(
            WAITS["instance_released"],
            probe,
            resource=f"instance {instance_id}",
            pacing=pacing,
            log=log,
        )
    except BakeryError as exc:
        elapsed = pacing.clock() - start
        raise InstanceStillHeldError(instance_id, note.bake_id, note.held_until, elapsed) from exc


def hold_instance(
    ec2: Any,
    instance_id: str,
    bake_id: str,
    *,
    restore_state: str,
    hold_s: float,
    pacing: Pacing,
    now: Now = tags.utcnow,
    log: Log = lambda _: None,
) -> Hold:
    """Put this bake's note on the instance, once no other bake holds it.

    AWS calls: DescribeInstances, CreateTags (instance), DescribeInstances.

    Returns:
        The state to restore (the one an earlier note of this bake, or a stale note
        taken over, recorded, else ``restore_state``) and the instance's state when
        the note was read back.

    Raises:
        InstanceStillHeldError: another bake's note did not clear before its held-until.
    """
    while True:
        note = read_note(ec2, instance_id)
        if note is not None and note.bake_id != bake_id:
            if note.live(now()):
                _wait_out(ec2, instance_id, bake_id, note, pacing, now, log)
                continue
            when = note.held_until or "an unknown time"
            log(
                f"taking over the stale stop note of bake {note.bake_id} on {instance_id} "
                f"(held until {when}); it found the instance {note.restore_state or '?'}"
            )
        wanted = (note.restore_state if note else "") or restore_state
        until = tags.stamp(now() + timedelta(seconds=hold_s))
        ec2.create_tags(
            Resources=[instance_id],
            Tags=tags.to_list(
                {tags.STOPPED_BY: bake_id, tags.RESTORE_STATE: wanted, tags.HELD_UNTIL: until}
            ),
        )
        pacing.sleep(CLAIM_SETTLE_S)
        after, state = _read_held(ec2, instance_id)
        if after is not None and after.bake_id == bake_id:
            return Hold(wanted, state)
        log(f"bake {after.bake_id if after else '?'} claimed {instance_id} at the same time")


def release_instance(ec2: Any, instance_id: str, bake_id: str) -> None:
    """Remove this bake's note (another bake's note is left alone).

    AWS calls: DescribeInstances, DeleteTags (instance).
    """
    note = read_note(ec2, instance_id)
    if note is None or note.bake_id != bake_id:
        return
    ec2.delete_tags(
        Resources=[instance_id],
        Tags=[{"Key": tags.STOPPED_BY}, {"Key": tags.RESTORE_STATE}, {"Key": tags.HELD_UNTIL}],
    )
