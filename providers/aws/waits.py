"""Bounded waits: one polling loop, driven by data (specs and acceptors).

Modelled on botocore's waiter (``botocore/waiter.py`` and ``waiters-2.json``), with
three differences: a wait stops at a *deadline*, not an attempt count; each delay is
capped, fully jittered backoff (as ``botocore/retries/standard.py``); and ``clock``,
``sleep`` and ``rand`` are injected so that no test sleeps.
"""

from __future__ import annotations

import enum
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.callbacks import Log
from providers.aws.errors import WaitFailedError, WaitTimeoutError


class Outcome(enum.Enum):
    """What one probe concluded."""

    SUCCESS = "success"
    FAILURE = "failure"
    RETRY = "retry"


@dataclass(frozen=True)
class WaitSpec:
    """How long to wait and how often to look.

    Each delay is ``min(max_delay_s, first_delay_s * 2**attempt)``, less a random share
    of at most ``jitter`` of it (1.0: full jitter, as botocore's standard retries; the
    bake's waits use less, since a late look at a stopped instance is downtime).
    ``settle_s`` is slept after a first look that finds the transition under way, for
    transitions that take a while (a stop): looking during it only costs requests.
    When the probe reports a fraction done and the wait knows when the work began
    (``origin``), the next look is timed for the estimated end instead, within
    ``first_delay_s`` .. ``estimate_cap_s`` (default ``max_delay_s``). Without a
    fraction, ``elapsed_share`` > 0 stretches the backoff to that share of the time the
    work has run (up to ``estimate_cap_s``): a look is never later than that share of
    the whole wait, and a long wait needs few looks.

    When the caller knows how long the transition was under way last time
    (``under_way_s``: from this instance's last stop, since AWS documents no duration),
    up to ``near_looks`` looks are made ``near_step_s`` apart from then, in place of the
    settle; then the backoff. A transition as long as the last one is then seen at most
    ``near_step_s`` late (and a faster one is seen done at the first of them).
    """

    deadline_s: float
    first_delay_s: float
    max_delay_s: float
    settle_s: float = 0.0
    jitter: float = 1.0
    estimate_cap_s: float | None = None
    elapsed_share: float = 0.0
    near_step_s: float = 0.0
    near_looks: int = 0

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """The jittered delay before probe number ``attempt + 1``."""
        base = min(self.max_delay_s, self.first_delay_s * 2 ** min(attempt, 30))
        return base * (1.0 - self.jitter * (1.0 - rand()))

    def stretched(self, delay_s: float, running_s: float | None) -> float:
        """``delay_s``, or ``elapsed_share`` of ``running_s`` when longer (capped)."""
        if self.elapsed_share <= 0 or running_s is None:
            return delay_s
        cap = self.estimate_cap_s or self.max_delay_s
        return max(delay_s, min(cap, self.elapsed_share * running_s))

    def towards(self, eta_s: float) -> float:
        """The delay towards an estimated end ``eta_s`` away (capped both ways; a little
        past it, so that the look lands after the end rather than just before)."""
        cap = self.estimate_cap_s or self.max_delay_s
        return max(self.first_delay_s, min(cap, eta_s * 1.05))

    def near_delay(self, look: int, elapsed_s: float, under_way_s: float | None) -> float | None:
        """The delay before near look number ``look`` (``under_way_s + look *
        near_step_s``), ``elapsed_s`` into the wait; ``near_step_s`` when that is past;
        None once the near looks are spent or nothing is known."""
        if under_way_s is None or self.near_step_s <= 0 or look >= self.near_looks:
            return None
        due = under_way_s + look * self.near_step_s - elapsed_s
        return due if due > 0 else self.near_step_s

    def with_deadline(self, deadline_s: float) -> WaitSpec:
        """The same cadence with another deadline (a user's timeout)."""
        return replace(self, deadline_s=deadline_s)


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


# Error codes of a describe call that mean "look again later", whatever the wait:
# throttling that outlasted botocore's own retries must never abort a wait (the instance
# may be down while it runs). Codes from the EC2 API reference, "Error codes".
THROTTLED = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})


@dataclass(frozen=True)
class Observation:
    """What one describe call showed: the states to classify, a line to show, and the
    fraction of the work done when AWS reports it (snapshot ``Progress``)."""

    states: tuple[str, ...]
    shown: object
    fraction: float | None = None


Describe = Callable[[Any, Sequence[str]], Any]
Read = Callable[[Any], Observation]


@dataclass(frozen=True)
class Waiter:
    """A named wait as data, like a botocore waiter: its goal (for messages), cadence,
    state acceptors, and (for ``wait_for`` with ``Waiter.probe``) the describe call, how to read its
    response, and error codes with the outcome they mean."""

    goal: str
    spec: WaitSpec
    acceptors: Acceptors
    describe: Describe | None = None
    read: Read | None = None
    errors: Mapping[str, Outcome] = field(default_factory=dict)

    def probe(self, client: Any, ids: Sequence[str]) -> Probe:
        """One look: call ``describe``, classify what ``read`` makes of it; a matched
        error code (or throttling) is an outcome, any other error propagates."""
        if self.describe is None or self.read is None:
            raise TypeError(f"waiter {self.goal!r} has no describe call")
        describe, read = self.describe, self.read

        def probe() -> tuple[Outcome, object, float | None]:
            try:
                seen = read(describe(client, ids))
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                outcome = self.errors.get(code) or (Outcome.RETRY if code in THROTTLED else None)
                if outcome is None:
                    raise
                return outcome, code, None
            return self.acceptors.classify(seen.states), seen.shown, seen.fraction

        return probe


MINUTE = 60.0
HOUR = 3600.0

ProgressFn = Callable[[float, object], None]
Probe = Callable[[], tuple[Outcome, object] | tuple[Outcome, object, float | None]]


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
    origin: float | None = None,
    under_way_s: float | None = None,
) -> object:
    """Probe until success, failure or the deadline.

    Args:
        probe: returns the outcome and the state it saw (and optionally the fraction
            of the work done).
        spec: deadline and cadence.
        resource: what is waited on, for messages (``"snapshots of i-123"``).
        goal: the state wanted, for messages.
        on_progress: called with (elapsed seconds, state) after each probe.
        origin: when the work waited on began (``clock`` time); with a reported
            fraction it times the next look for the estimated end.
        under_way_s: how long the same transition was last seen under way (seconds
            after the start); the spec's near looks begin there (``WaitSpec``).

    Returns:
        The state seen by the successful probe.

    Raises:
        WaitFailedError: the probe reported failure.
        WaitTimeoutError: the deadline passed first.
    """
    start = clock()
    attempt = 0
    near = 0
    settled = spec.settle_s <= 0 or spec.near_delay(0, 0.0, under_way_s) is not None
    while True:
        outcome, state, *rest = probe()
        fraction = rest[0] if rest else None
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
        running_s = clock() - origin if origin is not None else None
        eta = estimate_left(fraction, running_s)
        near_delay = spec.near_delay(near, clock() - start, under_way_s)
        if near_delay is not None:  # after the last one's end
            near += 1
            sleep(min(near_delay, remaining))
        elif not settled:  # the first look found it under way: give it its usual time
            settled = True
            sleep(min(spec.settle_s, remaining))
        elif eta is not None:
            sleep(min(spec.towards(eta), remaining))
        else:  # no estimate: back off (only these looks count towards the backoff)
            sleep(min(spec.stretched(spec.delay(attempt, rand), running_s), remaining))
            attempt += 1


def estimate_left(fraction: float | None, running_s: float | None) -> float | None:
    """Seconds left if work ``fraction`` done after ``running_s`` goes on at that rate."""
    if fraction is None or running_s is None or fraction <= 0 or running_s <= 0:
        return None
    return running_s * (1.0 - min(fraction, 1.0)) / fraction


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


# Wait cadences assume AWS's pace (a stop takes tens of seconds). A local AWS that
# simulates latency scaled down (tests/moto_ext/latency.py under the e2e tests and
# benchmarks) sets this to the same factor, so the bake's waits run at its pace.
TIME_SCALE_ENV = "BAKERY_TIME_SCALE"


def default_pacing() -> Pacing:
    """Real time, or time scaled by ``BAKERY_TIME_SCALE`` (local AWS only)."""
    scale = float(os.environ.get(TIME_SCALE_ENV) or 1.0)
    if scale == 1.0:
        return Pacing()
    return Pacing(
        clock=lambda: time.monotonic() / scale,
        sleep=lambda seconds: time.sleep(seconds * scale),
    )


def wait_for(
    waiter: Waiter,
    probe: Probe,
    *,
    resource: str,
    pacing: Pacing,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    origin: float | None = None,
    under_way_s: float | None = None,
) -> object:
    """``wait_until`` for a ``wait_table.WAITS`` entry, with ``resource: state (elapsed)`` lines."""
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
        origin=origin,
        under_way_s=under_way_s,
    )
