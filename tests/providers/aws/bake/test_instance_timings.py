"""The source instance's history a bake leaves on its image for the next one."""

from __future__ import annotations

from providers.aws import tags
from providers.aws.bake.source_instance import StateChange
from providers.aws.bake.steps import instance_timings, timing_tags


def _image(baked_at: str, **found: str) -> dict[str, object]:
    return {"Tags": tags.to_list({tags.BAKED_AT: baked_at, **found})}


def test_instance_timings_come_from_the_newest_image_that_recorded_them() -> None:
    images = [
        _image("2026-12-01T00:00:00Z", **{tags.STOP_S: "41.00", tags.START_S: "30.00"}),
        _image("2026-12-06T00:00:00Z", **{tags.STOP_S: "29.50", tags.START_S: "21.00"}),
        _image("2026-12-07T00:00:00Z"),  # a bake that recorded nothing (live mode)
    ]

    assert instance_timings(images) == {"stopped": 29.5, "running": 21.0}


def test_instance_timings_ignore_what_cannot_be_read() -> None:
    images = [_image("2026-12-06T00:00:00Z", **{tags.STOP_S: "soon", tags.START_S: "20"})]

    assert instance_timings(images) == {"running": 20.0}
    assert instance_timings([]) == {}


def test_timing_tags_record_the_last_look_under_way_and_the_start_seen_done() -> None:
    took = {"stopped": StateChange(29.81, 30.31), "running": StateChange(15.0, 27.68)}

    assert timing_tags(took, {}) == {tags.STOP_S: "29.81", tags.START_S: "27.68"}
    assert timing_tags(took, {"stopped": 29.81}) == {tags.STOP_S: "29.81", tags.START_S: "27.68"}


def test_timing_tags_forget_a_stop_faster_than_the_last_one() -> None:
    # done at the first look timed from the last stop (29.8 s): how much faster it was
    # is unknown, so nothing is recorded and the next bake learns it afresh
    took = {"stopped": StateChange(0.0, 29.8)}

    assert timing_tags(took, {"stopped": 29.8}) == {}
    assert timing_tags({"stopped": StateChange(0.0, 3.0)}, {}) == {}
