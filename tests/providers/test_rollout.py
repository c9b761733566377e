"""A stack written by the previous Bakery previews *no change* under this one.

The state of such a stack holds its rollout providers pickled by reference as
``providers.rollout.InstanceRefreshProvider`` / ``...BlueGreenCutoverProvider`` (the
pickles below were made by the previous main, commit 1b9cb54) and outputs without
the preference keys added since. The engine unpickles the old provider for ``read``
and ``delete`` and diffs the old outputs against today's checked inputs.
"""

from __future__ import annotations

import base64
from typing import Any

import dill

from providers.cutover import BlueGreenCutoverProvider
from providers.instance_refresh import InstanceRefreshProvider

OLD_REFRESH_PROVIDER = (
    "gASVSgAAAAAAAACMEXByb3ZpZGVycy5yb2xsb3V0lIwXSW5zdGFuY2VSZWZyZXNoUHJvdmlkZXKUk5QpgZR9lIwOZGV"
    "mYXVsdF9yZWdpb26UTnNiLg=="
)
OLD_CUTOVER_PROVIDER = (
    "gASVSwAAAAAAAACMEXByb3ZpZGVycy5yb2xsb3V0lIwYQmx1ZUdyZWVuQ3V0b3ZlclByb3ZpZGVylJOUKYGUfZSMDmRl"
    "ZmF1bHRfcmVnaW9ulE5zYi4="
)
# InstanceRefresh outputs as the previous main wrote them (numbers as the engine
# returns them: floats).
OLD_REFRESH_OUTPUTS: dict[str, Any] = {
    "group_name": "web-0a1b2c3d",
    "launch_template_id": "lt-0123",
    "launch_template_version": "2",
    "image_id": "ami-0b",
    "min_healthy_percentage": 90.0,
    "instance_warmup_s": 60.0,
    "checkpoint_percentages": [],
    "checkpoint_delay_s": None,
    "skip_matching": True,
    "auto_rollback": True,
    "timeout_s": 1200.0,
    "region": "eu-west-1",
    "endpoint_url": None,
    "refresh_id": "5a0c",
    "status": "Successful",
    "__provider": OLD_REFRESH_PROVIDER,
}
OLD_CUTOVER_OUTPUTS: dict[str, Any] = {
    "group_name": "web-0a1b2c3d",
    "image_id": "ami-0b",
    "fleet": "bakery/prod/fleet",
    "launch_template_id": "lt-0123",
    "launch_template_version": "4",
    "launch_configuration_name": None,
    "launch_configuration_prefix": None,
    "timeout_s": 5400.0,
    "region": "eu-west-1",
    "endpoint_url": None,
    "healthy_instances": ["i-1", "i-2", "i-3"],
    "retired_groups": [],
    "__provider": OLD_CUTOVER_PROVIDER,
}


def _today_refresh_inputs() -> dict[str, Any]:
    """What today's ImageFleet sends for the same config (see components/image_fleet.py)."""
    return {
        **{k: v for k, v in OLD_REFRESH_OUTPUTS.items() if k not in ("refresh_id", "status")},
        "max_healthy_percentage": None,
        "standby_instances": "Ignore",
        "scale_in_protected_instances": "Ignore",
        "alarm_names": [],
        "bake_time_s": None,
        "desired_capacity": 1.0,
        "max_size": 2.0,
        "target_group_arns": [],
        "__provider": "today's pickle",
    }


def test_old_state_providers_unpickle_to_todays_classes() -> None:
    refresh = dill.loads(base64.b64decode(OLD_REFRESH_PROVIDER))
    cut = dill.loads(base64.b64decode(OLD_CUTOVER_PROVIDER))

    assert type(refresh) is InstanceRefreshProvider
    assert type(cut) is BlueGreenCutoverProvider
    assert refresh.default_region is None


def test_old_instance_refresh_state_diffs_as_no_change() -> None:
    provider = dill.loads(base64.b64decode(OLD_REFRESH_PROVIDER))
    checked = provider.check(OLD_REFRESH_OUTPUTS, _today_refresh_inputs())

    diff = provider.diff("web-0a1b2c3d", OLD_REFRESH_OUTPUTS, checked.inputs)

    assert checked.failures == []
    assert diff.changes is False and diff.replaces == []


def test_old_instance_refresh_state_new_version_still_updates() -> None:
    provider = InstanceRefreshProvider()
    news = {**_today_refresh_inputs(), "launch_template_version": "3"}

    diff = provider.diff("web", OLD_REFRESH_OUTPUTS, provider.check({}, news).inputs)

    assert diff.changes is True and diff.replaces == []


def test_old_cutover_state_diffs_as_no_change_with_the_adopted_fleet_id() -> None:
    # FleetIdentity adopts the earlier fleet key as its id, so `fleet` is unchanged.
    provider = dill.loads(base64.b64decode(OLD_CUTOVER_PROVIDER))
    news = {
        **{
            k: v
            for k, v in OLD_CUTOVER_OUTPUTS.items()
            if k not in ("healthy_instances", "retired_groups")
        },
        "target_group_arns": [
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1"
        ],
        "__provider": "today's pickle",
    }

    diff = provider.diff("web-0a1b2c3d", OLD_CUTOVER_OUTPUTS, provider.check({}, news).inputs)

    assert diff.changes is False and diff.replaces == []
