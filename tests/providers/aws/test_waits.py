"""The one polling loop: deadlines, settle, backoff, looks timed from reported progress."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.aws.errors import WaitTimeoutError
from providers.aws.waits import (
    Acceptors,
    Observation,
    Outcome,
    Waiter,
    WaitSpec,
    estimate_left,
    wait_until,
)
from tests.conftest import FakeClock

DONE = Acceptors(frozenset({"done"}), frozenset({"failed"}))


def test_wait_until_progress_reports_time_looks_for_the_estimated_end(
    fake_clock: FakeClock,
) -> None:
    started = fake_clock.now
    looks: list[float] = []

    def probe() -> tuple[Outcome, object, float | None]:
        looks.append(fake_clock.now)
        fraction = min(1.0, (fake_clock.now - started) / 600.0)  # a 10-minute job
        if fraction >= 1.0:
            return Outcome.SUCCESS, "done", 1.0
        return Outcome.RETRY, f"{fraction:.0%}", fraction

    spec = WaitSpec(3600.0, first_delay_s=20.0, max_delay_s=120.0, estimate_cap_s=300.0)
    fake_clock.now += 30.0  # the wait starts 30 s into the job

    wait_until(
        probe,
        spec,
        resource="job",
        goal="done",
        clock=fake_clock,
        sleep=fake_clock.sleep,
        rand=lambda: 1.0,
        origin=started,
    )

    assert len(looks) <= 4  # 30 s, 330 s (capped), ~600 s: not a look every 30 s
    assert fake_clock.now - started <= 640.0


def test_wait_until_settle_follows_a_first_look_that_finds_work_under_way(
    fake_clock: FakeClock,
) -> None:
    states = iter(["stopping", "stopping", "stopped"])

    def probe() -> tuple[Outcome, object]:
        state = next(states)
        return (Outcome.SUCCESS if state == "stopped" else Outcome.RETRY), state

    spec = WaitSpec(600.0, first_delay_s=4.0, max_delay_s=4.0, settle_s=10.0, jitter=0.0)
    wait_until(probe, spec, resource="i", goal="stopped", clock=fake_clock, sleep=fake_clock.sleep)

    assert fake_clock.sleeps == [10.0, 4.0]


def test_waiter_probe_throttling_is_a_retry_other_errors_raise() -> None:
    calls = {"n": 0}

    def describe(_client: object, _ids: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError({"Error": {"Code": "RequestLimitExceeded"}}, "DescribeImages")
        if calls["n"] == 2:
            raise ClientError({"Error": {"Code": "UnauthorizedOperation"}}, "DescribeImages")
        return {}

    waiter = Waiter(
        "done", WaitSpec(60.0, 1.0, 1.0), DONE, describe, lambda _: Observation(("done",), "done")
    )
    probe = waiter.probe(object(), ["x"])

    assert probe()[0] is Outcome.RETRY
    with pytest.raises(ClientError):
        probe()
    assert probe()[0] is Outcome.SUCCESS


def test_wait_until_deadline_names_last_state(fake_clock: FakeClock) -> None:
    with pytest.raises(WaitTimeoutError, match="last state: pending"):
        wait_until(
            lambda: (Outcome.RETRY, "pending"),
            WaitSpec(30.0, 5.0, 5.0),
            resource="image ami-1",
            goal="available",
            clock=fake_clock,
            sleep=fake_clock.sleep,
            rand=lambda: 1.0,
        )


def test_estimate_left_needs_progress_and_time() -> None:
    assert estimate_left(None, 10.0) is None
    assert estimate_left(0.0, 10.0) is None
    assert estimate_left(0.5, 100.0) == pytest.approx(100.0)


def _ends_at(clock: FakeClock, end: float, looks: list[float]) -> object:
    def probe() -> tuple[Outcome, object]:
        looks.append(clock.now)
        done = clock.now >= end
        return (Outcome.SUCCESS if done else Outcome.RETRY), "done" if done else "under way"

    return probe


NEAR = WaitSpec(
    600.0,
    first_delay_s=4.0,
    max_delay_s=4.0,
    settle_s=10.0,
    jitter=0.0,
    near_step_s=0.5,
    near_looks=4,
)


def _looks(clock: FakeClock, spec: WaitSpec, ends_after_s: float, **wait: Any) -> list[float]:
    """When (seconds into the wait, to 0.01 s) a ``spec`` wait looks at work that ends
    ``ends_after_s`` in; ``wait``: more of ``wait_until``'s arguments."""
    start, looks = clock.now, list[float]()
    probe = _ends_at(clock, start + ends_after_s, looks)
    wait_until(probe, spec, resource="r", goal="done", clock=clock, sleep=clock.sleep, **wait)
    return [round(t - start, 2) for t in looks]


def _stop_looks(clock: FakeClock, ends_after_s: float, under_way_s: float | None) -> list[float]:
    """When a ``NEAR`` wait looks at a stop that ends ``ends_after_s`` in."""
    return _looks(clock, NEAR, ends_after_s, under_way_s=under_way_s)


def test_wait_until_near_looks_resume_where_the_last_transition_was_under_way(
    fake_clock: FakeClock,
) -> None:
    # at once, at 29.9 (where the last stop was still under way), then 0.5 s apart; no
    # settle: seen 0.2 s after the end instead of up to 4 s
    assert _stop_looks(fake_clock, 30.2, under_way_s=29.9) == [0.0, 29.9, 30.4]


def test_wait_until_near_looks_spent_fall_back_to_the_backoff(fake_clock: FakeClock) -> None:
    looks = _stop_looks(fake_clock, 40.0, under_way_s=29.9)  # much slower than last time

    assert looks == [0.0, 29.9, 30.4, 30.9, 31.4, 35.4, 39.4, 43.4]


def test_wait_until_without_history_keeps_the_settle_and_cadence(fake_clock: FakeClock) -> None:
    assert _stop_looks(fake_clock, 13.0, under_way_s=None) == [0.0, 10.0, 14.0]


def test_wait_until_elapsed_share_stretches_the_backoff_of_a_long_wait(
    fake_clock: FakeClock,
) -> None:
    origin = fake_clock.now - 600.0  # the work began 10 minutes before this wait
    spec = WaitSpec(
        3600.0,
        first_delay_s=20.0,
        max_delay_s=120.0,
        jitter=0.0,
        estimate_cap_s=300.0,
        elapsed_share=0.25,
    )

    looks = _looks(fake_clock, spec, 300.0, origin=origin)

    # a quarter of the time so far each (150 s, then 187.5 s): not 20, 40, 80, 120, 120
    assert looks == [0.0, 150.0, 337.5]
