"""read_all: reads run at once, results come back in order, the first failure in order
is the one raised, and every read runs to its end."""

from __future__ import annotations

import threading

import pytest

from providers.aws.concurrent_reads import read_all


def test_read_all_returns_results_in_the_order_given() -> None:
    assert read_all(lambda: 1, lambda: "two", lambda: None) == [1, "two", None]
    assert read_all(lambda: 5) == [5]
    assert read_all() == []


def test_read_all_runs_the_reads_at_once() -> None:
    # Each read waits for the other two: in sequence the first would wait in vain.
    met = threading.Barrier(3, timeout=10)

    assert sorted(read_all(met.wait, met.wait, met.wait)) == [0, 1, 2]  # all three met


def test_read_all_raises_the_first_failure_in_order_after_every_read_ran() -> None:
    ran: list[str] = []
    later_failed = threading.Event()

    def first() -> None:
        later_failed.wait(timeout=10)  # fails after the third has failed
        ran.append("first")
        raise KeyError("first")

    def second() -> str:
        ran.append("second")
        return "ok"

    def third() -> None:
        ran.append("third")
        later_failed.set()
        raise ValueError("third")

    with pytest.raises(KeyError, match="first"):
        read_all(first, second, third)

    assert sorted(ran) == ["first", "second", "third"]
