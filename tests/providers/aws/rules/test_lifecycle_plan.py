"""The lifecycle plan, without AWS: each action, its inverse, and their order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from providers.aws import tags
from providers.aws.rules.lifecycle_plan import (
    HOME,
    CopyTo,
    Lifecycle,
    Protection,
    RemoveCopy,
    SetDeprecation,
    SetProtection,
    SetSharing,
    Sharing,
    TagSnapshots,
    describe_plan,
    plan_lifecycle,
    wanted_lifecycle,
)

BAKED = "2026-12-01T00:00:00Z"
BASE = Lifecycle(baked_at=BAKED)
SHARED = Sharing(accounts=("111122223333",), organizations=("arn:aws:organizations::1:o/o-1",))
PROTECTED = Protection(enabled=True, cooldown=True)
ONE_COPY = {"eu-west-1": None}


def _image(*, protected_by_bakery: bool = False) -> dict[str, object]:
    marks = [{"Key": tags.PROTECTED, "Value": "on"}] if protected_by_bakery else []
    return {"ImageId": "ami-1", "Tags": marks}


def test_plan_unchanged_update_lists_nothing() -> None:
    assert plan_lifecycle(BASE, BASE, _image()) == []


def test_plan_create_tags_snapshots_even_without_tags() -> None:
    # The snapshots take their volumes' user tags at every bake.
    assert plan_lifecycle(None, BASE, _image()) == [TagSnapshots({})]


@pytest.mark.parametrize(
    ("change", "action", "inverse"),
    [
        (
            {"deprecate_after_days": 30.0},
            SetDeprecation(HOME, datetime(2026, 12, 31, tzinfo=UTC)),
            SetDeprecation(HOME, None),
        ),
        (
            {"sharing": SHARED},
            SetSharing(HOME, Sharing(), SHARED),
            SetSharing(HOME, SHARED, Sharing()),
        ),
        (
            {"protection": PROTECTED},
            SetProtection(HOME, PROTECTED),
            SetProtection(HOME, Protection()),
        ),
        (
            {"snapshot_tags": {"team": "web"}},
            TagSnapshots({"team": "web"}, {}),
            TagSnapshots({}, {"team": "web"}),
        ),
    ],
)
def test_plan_each_home_action_and_its_inverse(change, action, inverse) -> None:
    changed = replace(BASE, **change)

    assert plan_lifecycle(BASE, changed, _image()) == [action]
    # The reverse change undoes it (the image now carries Bakery's protection mark).
    assert plan_lifecycle(changed, BASE, _image(protected_by_bakery=True)) == [inverse]


def test_plan_protection_someone_else_set_is_not_lifted() -> None:
    protected = replace(BASE, protection=PROTECTED)

    assert plan_lifecycle(protected, BASE, _image(protected_by_bakery=False)) == []
    # Unread (preview): the old inputs say Bakery turned it on.
    assert plan_lifecycle(protected, BASE, None) == [SetProtection(HOME, Protection())]


def test_plan_new_copy_region_is_copied_then_settled_like_the_image() -> None:
    new = replace(BASE, copies=ONE_COPY, sharing=SHARED, deprecate_after_days=30.0)

    actions = plan_lifecycle(BASE, new, _image())

    at = datetime(2026, 12, 31, tzinfo=UTC)
    assert actions == [
        SetDeprecation(HOME, at),
        SetSharing(HOME, Sharing(), SHARED),
        CopyTo("eu-west-1", None),
        SetDeprecation("eu-west-1", at),
        SetSharing("eu-west-1", Sharing(), SHARED),
    ]


def test_plan_copy_inverse_removes_the_copy_made() -> None:
    with_copy = replace(BASE, copies=ONE_COPY)

    actions = plan_lifecycle(with_copy, BASE, _image(), copies_made={"eu-west-1": "ami-c"})

    assert actions == [RemoveCopy("eu-west-1", "ami-c")]


def test_plan_changed_copy_key_removes_then_copies_again() -> None:
    old = replace(BASE, copies={"eu-west-1": "alias/a"})
    new = replace(BASE, copies={"eu-west-1": "alias/b"})

    actions = plan_lifecycle(old, new, _image(), copies_made={"eu-west-1": "ami-c"})

    assert actions == [RemoveCopy("eu-west-1", "ami-c"), CopyTo("eu-west-1", "alias/b")]


def test_plan_kept_copy_is_settled_with_the_image() -> None:
    old = replace(BASE, copies=ONE_COPY)
    new = replace(old, sharing=SHARED)

    actions = plan_lifecycle(old, new, _image(), copies_made={"eu-west-1": "ami-c"})

    assert actions == [
        SetSharing(HOME, Sharing(), SHARED),
        SetSharing("eu-west-1", Sharing(), SHARED),
    ]


def test_plan_copy_region_already_made_is_not_copied_again() -> None:
    # A retried create or an update after a copy was made: the copy is adopted.
    new = replace(BASE, copies=ONE_COPY)

    assert plan_lifecycle(new, new, _image(), copies_made={"eu-west-1": "ami-c"}) == []


def test_wanted_lifecycle_reads_inputs_and_defaults_of_an_older_state() -> None:
    wanted = wanted_lifecycle(
        {
            "created_at": BAKED,
            "deprecate_after_days": 30,
            "share_with_accounts": ["111122223333"],
            "copy_to_regions": {"eu-west-1": "", "us-west-2": "alias/k"},
            "deregistration_protection": None,
        }
    )

    assert wanted.deprecate_at == datetime(2026, 12, 31, tzinfo=UTC)
    assert wanted.sharing == Sharing(accounts=("111122223333",))
    assert wanted.protection == Protection()
    assert wanted.copies == {"eu-west-1": None, "us-west-2": "alias/k"}
    assert wanted_lifecycle({}) == Lifecycle()


def test_describe_plan_says_each_action() -> None:
    new = replace(BASE, copies={"eu-west-1": "alias/k"}, sharing=SHARED, protection=PROTECTED)

    lines = describe_plan(plan_lifecycle(BASE, new, _image()))

    # Protection after sharing: a copy that fails to share can still be removed.
    assert lines == [
        "share the image with 111122223333, arn:aws:organizations::1:o/o-1",
        "protect the image from deregistration with a 24-hour cooldown",
        "copy the image to eu-west-1 encrypted with alias/k",
        "share the copy in eu-west-1 with 111122223333, arn:aws:organizations::1:o/o-1",
        "protect the copy in eu-west-1 from deregistration with a 24-hour cooldown",
    ]
