"""The InstanceRefresh provider, its methods called directly.

``check`` and ``diff`` need no AWS; ``create``/``update``/``read``/``delete`` run
against moto with the instance-refresh extension, with a fake clock in PACING.
"""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto

from providers.aws.clients import make_client
from providers.aws.errors import RefreshFailedError
from providers.dynamic_props import UNKNOWN
from providers.instance_refresh import InstanceRefreshProvider
from tests.conftest import REGION
from tests.moto_ext import instance_refresh
from tests.providers.aws.conftest import Fleet, make_fleet
from tests.providers.host import ProviderHost


def _refresh_props(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "group_name": "web",
        "launch_template_id": "lt-0123",
        "launch_template_version": "2",
        "image_id": "ami-0b",
        "min_healthy_percentage": 90.0,
        "instance_warmup_s": 60.0,
        "checkpoint_percentages": [50.0, 100.0],
        "checkpoint_delay_s": 300.0,
        "skip_matching": True,
        "auto_rollback": True,
        "timeout_s": 3600.0,
        "region": REGION,
        "endpoint_url": None,
        "__provider": "serialized",
    }
    props.update(overrides)
    return props


def _for(fleet: Fleet, version: int, **overrides: Any) -> dict[str, Any]:
    return _refresh_props(
        launch_template_id=fleet.template_id,
        launch_template_version=str(version),
        image_id=fleet.images["ABC"[version - 1]],
        **overrides,
    )


# --- InstanceRefreshProvider: check / diff ---------------------------------------------


def test_instance_refresh_check_good_props_pass_and_version_becomes_a_string() -> None:
    result = InstanceRefreshProvider().check({}, _refresh_props(launch_template_version=3.0))

    assert result.failures == []
    assert result.inputs["launch_template_version"] == "3"


def test_instance_refresh_check_latest_version_fails_naming_the_field() -> None:
    result = InstanceRefreshProvider().check({}, _refresh_props(launch_template_version="$Latest"))

    assert [f.property for f in result.failures] == ["launch_template_version"]
    assert "explicit version number" in result.failures[0].reason
    assert "auto-rollback is not supported" in result.failures[0].reason


def test_instance_refresh_check_each_bad_prop_is_one_failure() -> None:
    result = InstanceRefreshProvider().check(
        {},
        _refresh_props(
            group_name="",
            min_healthy_percentage=150.0,
            checkpoint_percentages=[60.0, 30.0],
            timeout_s=0,
        ),
    )

    assert [f.property for f in result.failures] == [
        "group_name",
        "min_healthy_percentage",
        "checkpoint_percentages",
        "timeout_s",
    ]
    assert "150" in result.failures[1].reason and "0 to 100" in result.failures[1].reason


def test_instance_refresh_check_unknown_values_pass_until_known() -> None:
    result = InstanceRefreshProvider().check(
        {}, _refresh_props(group_name=UNKNOWN, launch_template_version=UNKNOWN)
    )

    assert result.failures == []


def test_instance_refresh_diff_new_version_updates_in_place() -> None:
    diff = InstanceRefreshProvider().diff(
        "web", _refresh_props(), _refresh_props(launch_template_version="3")
    )

    assert diff.changes is True and diff.replaces == []
    assert diff.delete_before_replace is False


def test_instance_refresh_diff_other_group_replaces() -> None:
    diff = InstanceRefreshProvider().diff("web", _refresh_props(), _refresh_props(group_name="api"))

    assert diff.changes is True and diff.replaces == ["group_name"]


def test_instance_refresh_diff_floats_from_engine_equal_ints_no_change() -> None:
    olds = _refresh_props(min_healthy_percentage=90, checkpoint_percentages=[50, 100])

    diff = InstanceRefreshProvider().diff("web", olds, _refresh_props())

    assert diff.changes is False


def test_instance_refresh_provider_pickles_as_plain_data() -> None:
    provider = InstanceRefreshProvider()
    provider.configure(ConfigureRequest(Config({"aws:region": "eu-west-1"}, "bakery")))

    copy = dill.loads(base64.b64decode(serialize_provider(provider)))

    assert provider.default_region == "eu-west-1"
    assert vars(copy) == {"default_region": "eu-west-1"}
    assert InstanceRefreshProvider.serialize_as_secret_always is False


# --- InstanceRefreshProvider: against moto ---------------------------------------------


def test_instance_refresh_create_group_on_version_needs_no_refresh(fleet: Fleet) -> None:
    result = InstanceRefreshProvider().create(_for(fleet, 1))

    assert result.id == "web"
    assert result.outs is not None
    assert (result.outs["refresh_id"], result.outs["status"]) == ("", "AlreadyCurrent")
    assert "__provider" not in result.outs


def test_instance_refresh_update_new_version_rolls_out_and_prints_progress(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_refresh.script_next_refresh("web", "InProgress", "InProgress", "Successful")

    result = InstanceRefreshProvider().update("web", _for(fleet, 1), _for(fleet, 2))

    assert result.outs is not None
    assert result.outs["status"] == "Successful" and result.outs["refresh_id"]
    assert result.outs["launch_template_version"] == "2"
    assert result.outs["image_id"] == fleet.images["B"]
    assert fleet.images_running() == [fleet.images["B"]] * 4
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("bakery: started instance refresh") for line in err)
    # MinHealthyPercentage 90 of 4 instances: one batch of 1.
    assert any("InProgress, 25% complete, 3 instance(s) to update" in line for line in err)
    assert len(err) <= 6


def test_instance_refresh_update_rolled_back_fails_with_the_outcome(fleet: Fleet) -> None:
    instance_refresh.mark_unhealthy(fleet.images["B"])

    with pytest.raises(RefreshFailedError, match="Auto-rollback succeeded"):
        InstanceRefreshProvider().update("web", _for(fleet, 1), _for(fleet, 2))

    assert fleet.describe()["LaunchTemplate"]["Version"] == "1"


def test_instance_refresh_read_group_gone_reports_empty_id(fleet: Fleet) -> None:
    provider = InstanceRefreshProvider()
    assert provider.read("web", _for(fleet, 1)).id == "web"
    fleet.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="web", ForceDelete=True)

    assert provider.read("web", _for(fleet, 1)).id == ""


def test_instance_refresh_delete_leaves_the_group_alone(fleet: Fleet) -> None:
    InstanceRefreshProvider().delete("web", _for(fleet, 1))

    assert len(fleet.describe()["Instances"]) == 4


def test_instance_refresh_provider_host_over_grpc_unpickles_checks_and_creates(
    moto_endpoint: str,
) -> None:
    # The real host (python -m pulumi.dynamic) in another process: what the engine runs.
    with instance_refresh.installed():
        where = {"region": REGION, "endpoint_url": moto_endpoint}
        fleet = make_fleet(make_client("autoscaling", **where), make_client("ec2", **where))
        urn = "urn:pulumi:test::bakery::pulumi-python:dynamic/bakery:InstanceRefresh::web-rollout"
        host = ProviderHost(InstanceRefreshProvider())
        try:
            host.configure({"aws:region": REGION})
            _, bad = host.check(urn, {}, {**_for(fleet, 1), "launch_template_version": "$Default"})
            inputs, failures = host.check(urn, {}, _for(fleet, 1, endpoint_url=moto_endpoint))
            id_, outs = host.create(urn, inputs)
            diff = host.diff(urn, id_, outs, {**inputs, "launch_template_version": "2"})
        finally:
            progress = host.close()

    assert [f[0] for f in bad] == ["launch_template_version"] and failures == []
    assert id_ == "web" and outs["status"] == "AlreadyCurrent"
    assert diff.changes == proto.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    assert "bakery: group web already runs launch template" in progress
