"""Bounded waits: one polling loop, driven by data (specs and acceptors).

Modelled on botocore's waiter (``botocore/waiter.py`` and ``waiters-2.json``), with
three differences: a wait stops at a *deadline*, not an attempt count; each delay is
capped, fully jittered backoff (as ``botocore/retries/standard.py``); and ``clock``,
``sleep`` and ``rand`` are injected so that no test sleeps.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from providers.aws.errors import WaitFailedError, WaitTimeoutError


class Outcome(enum.Enum):
    """What one probe concluded."""

    SUCCESS = "success"
    FAILURE = "failure"
    RETRY = "retry"


@dataclass(frozen=True)
class WaitSpec:
    """How long to wait and how often to look.

    Each delay is ``rand() * min(max_delay_s, first_delay_s * 2**attempt)``.
    """

    deadline_s: float
    first_delay_s: float
    max_delay_s: float

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """The jittered delay before probe number ``attempt + 1``."""
        return rand() * min(self.max_delay_s, self.first_delay_s * 2 ** min(attempt, 30))

    def with_deadline(self, deadline_s: float) -> WaitSpec:
        """The same cadence with another deadline (a user's timeout)."""
        return WaitSpec(deadline_s, self.first_delay_s, self.max_delay_s)


@dataclass(frozen=True)
class Acceptors:
    """States that end a wait: all in ``success``, or any in ``failure``."""

    success: frozenset[str]
    failure: frozenset[str]

    def classify(self, states: Iterable[str]) -> Outcome:
        """The outcome for the states of every resource waited on."""
        seen = list(states)
        if any(s in self.failure for s in seen):
            return Outcome.FAILURE
        if seen and all(s in self.success for s in seen):
            return Outcome.SUCCESS
        return Outcome.RETRY


@dataclass(frozen=True)
class Waiter:
    """A named wait: its goal (for messages), cadence and acceptors."""

    goal: str
    spec: WaitSpec
    acceptors: Acceptors


def _states(*names: str) -> frozenset[str]:
    return frozenset(names)


MINUTE = 60.0
HOUR = 3600.0

# Acceptors copied from botocore's ec2 waiters-2.json (2016-11-15), gaps filled:
# SnapshotCompleted has no failure acceptor there, so "error" is added; ImageAvailable
# only fails on "failed", so the other terminal states are added.
WAITS: dict[str, Waiter] = {
    # The instance is down while these run: poll often (capped at 4 s, jittered) so a
    # bake adds little to stop + start. DescribeInstances is cheap to throttle-budget.
    "instance_stopped": Waiter(
        "stopped",
        WaitSpec(deadline_s=15 * MINUTE, first_delay_s=1.0, max_delay_s=4.0),
        Acceptors(_states("stopped"), _states("pending", "terminated", "shutting-down")),
    ),
    # Wait out a transition someone else started (e.g. an interrupted run's stop).
    "instance_settled": Waiter(
        "running or stopped",
        WaitSpec(deadline_s=15 * MINUTE, first_delay_s=1.0, max_delay_s=15.0),
        Acceptors(_states("running", "stopped"), _states("shutting-down", "terminated")),
    ),
    "instance_running": Waiter(
        "running",
        WaitSpec(deadline_s=15 * MINUTE, first_delay_s=1.0, max_delay_s=4.0),
        Acceptors(_states("running"), _states("shutting-down", "terminated", "stopping")),
    ),
    # Big volumes take hours for their first snapshot.
    "snapshots_completed": Waiter(
        "completed",
        WaitSpec(deadline_s=8 * HOUR, first_delay_s=2.0, max_delay_s=30.0),
        Acceptors(_states("completed"), _states("error")),
    ),
    "image_available": Waiter(
        "available",
        WaitSpec(deadline_s=2 * HOUR, first_delay_s=2.0, max_delay_s=30.0),
        Acceptors(
            _states("available"),
            _states("failed", "error", "invalid", "deregistered", "disabled"),
        ),
    ),
}

ProgressFn = Callable[[float, object], None]
Probe = Callable[[], tuple[Outcome, object]]


def wait_until(
    probe: Probe,
    spec: WaitSpec,
    *,
    resource: str,
    goal: str,
    on_progress: ProgressFn | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> object:
    """Probe until success, failure or the deadline.

    Args:
        probe: returns the outcome and the state it saw.
        spec: deadline and backoff.
        resource: what is waited on, for messages (``"snapshots of i-123"``).
        goal: the state wanted, for messages.
        on_progress: called with (elapsed seconds, state) after each probe.

    Returns:
        The state seen by the successful probe.

    Raises:
        WaitFailedError: the probe reported failure.
        WaitTimeoutError: the deadline passed first.
    """
    start = clock()
    attempt = 0
    while True:
        outcome, state = probe()
        elapsed = clock() - start
        if on_progress is not None:
            on_progress(elapsed, state)
        if outcome is Outcome.SUCCESS:
            return state
        if outcome is Outcome.FAILURE:
            raise WaitFailedError(resource, goal, state, elapsed)
        remaining = spec.deadline_s - elapsed
        if remaining <= 0:
            raise WaitTimeoutError(resource, goal, state, elapsed)
        sleep(min(spec.delay(attempt, rand), remaining))
        attempt += 1


def every(
    interval_s: float, report: ProgressFn, *, clock: Callable[[], float] = time.monotonic
) -> ProgressFn:
    """Wrap ``report`` so it fires on a state change or at most once per interval."""
    last: dict[str, object] = {"at": None, "state": object()}

    def on_progress(elapsed: float, state: object) -> None:
        now = clock()
        at = last["at"]
        due = at is None or now - float(at) >= interval_s  # type: ignore[arg-type]
        if due or state != last["state"]:
            last["at"] = now
            last["state"] = state
            report(elapsed, state)

    return on_progress


@dataclass(frozen=True)
class Pacing:
    """Time as a workflow sees it: injected so tests and benchmarks control it."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    # Progress lines reach the `pulumi up` display: one per state change, else this often.
    progress_every_s: float = 30.0

    def throttle(self, report: ProgressFn) -> ProgressFn:
        """``report`` limited to state changes and one line per ``progress_every_s``."""
        return every(self.progress_every_s, report, clock=self.clock)


# Rollout waits (providers/aws/instance_refresh.py, groups.py, cutover.py). AWS has
# no waiter for instance refreshes; the states are InstanceRefreshStatus in
# botocore's autoscaling service-2.json (2011-01-01). A refresh's deadline is the
# user's rollout timeout (with_deadline).
_REFRESH_FAILED = ("Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed")
WAITS.update(
    {
        "instance_refresh_successful": Waiter(
            "Successful",
            WaitSpec(deadline_s=1 * HOUR, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("Successful"), _states(*_REFRESH_FAILED)),
        ),
        # Wait out a refresh someone else started (towards another configuration).
        "instance_refresh_ended": Waiter(
            "ended",
            WaitSpec(deadline_s=1 * HOUR, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("Successful", *_REFRESH_FAILED), _states()),
        ),
        # States made up by the probe: "healthy" when the desired capacity is InService,
        # Healthy, on the image and healthy in its target groups; "failed" when a
        # scaling activity failed; "gone" when the group disappeared.
        "group_healthy": Waiter(
            "InService and healthy",
            WaitSpec(deadline_s=30 * MINUTE, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("healthy"), _states("gone", "failed")),
        ),
        # A group scaled to zero: lifecycle hooks and deregistration delays run first.
        "group_drained": Waiter(
            "no instances",
            WaitSpec(deadline_s=20 * MINUTE, first_delay_s=5.0, max_delay_s=30.0),
            Acceptors(_states("empty"), _states()),
        ),
        "group_deleted": Waiter(
            "deleted",
            WaitSpec(deadline_s=15 * MINUTE, first_delay_s=2.0, max_delay_s=15.0),
            Acceptors(_states("gone"), _states()),
        ),
    }
)


# Pre-flight (providers/aws/preflight.py): EBS allows few pending snapshots per volume
# (5; 1 for st1/sc1), so a bake waits for other snapshots of the instance's volumes
# before it stops anything. The probe reports "idle" when none is pending.
WAITS["volume_snapshots_idle"] = Waiter(
    "idle (no pending snapshots)",
    WaitSpec(deadline_s=2 * HOUR, first_delay_s=5.0, max_delay_s=60.0),
    Acceptors(_states("idle"), _states()),
)


def wait_for(
    waiter: Waiter,
    probe: Probe,
    *,
    resource: str,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Callable[[str], None] | None = None,
) -> object:
    """``wait_until`` for a ``WAITS`` entry, logging ``resource: state (elapsed)`` lines."""
    on_progress = None
    if log is not None:
        say = log

        def report(elapsed: float, state: object) -> None:
            say(f"{resource}: {state} ({elapsed:.0f}s)")

        on_progress = pacing.throttle(report)
    return wait_until(
        probe,
        spec or waiter.spec,
        resource=resource,
        goal=waiter.goal,
        on_progress=on_progress,
        clock=pacing.clock,
        sleep=pacing.sleep,
        rand=pacing.rand,
    )
