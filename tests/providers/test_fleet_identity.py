"""The FleetIdentity provider, its methods called directly against moto."""

from __future__ import annotations

from typing import Any

from providers.aws.clients import make_client
from providers.aws.fleet import groups
from providers.fleet_identity import FleetIdentityProvider
from tests.conftest import REGION
from tests.moto_ext import asg_health, instance_refresh
from tests.providers.aws.conftest import FLEET, Fleet, add_group, make_fleet
from tests.providers.host import ProviderHost


def _props(key: str = "project/dev/api", **more: Any) -> dict[str, Any]:
    return {"legacy_key": key, "region": REGION, "fleet_id": None, "adopted": None, **more}


def test_fleet_identity_check_new_fleet_gets_a_unique_id(fleet: Fleet) -> None:
    first = FleetIdentityProvider().check({}, _props()).inputs
    second = FleetIdentityProvider().check({}, _props()).inputs

    assert first["fleet_id"].startswith("project/dev/api#") and first["adopted"] is False
    assert first["fleet_id"] != second["fleet_id"]


def test_fleet_identity_check_without_a_region_uses_the_stacks(fleet: Fleet) -> None:
    provider = FleetIdentityProvider()
    provider.default_region = REGION  # from configure (aws:region)

    checked = provider.check({}, _props(FLEET, region=None)).inputs

    assert (checked["fleet_id"], checked["adopted"]) == (FLEET, True)


def test_fleet_identity_check_keeps_the_id_of_the_state_even_after_a_rename(
    fleet: Fleet,
) -> None:
    olds = {**_props(), "fleet_id": "project/dev/api#0123456789ab", "adopted": False}

    checked = FleetIdentityProvider().check(olds, _props("project/renamed/api")).inputs

    assert checked["fleet_id"] == "project/dev/api#0123456789ab"


def test_fleet_identity_check_adopts_an_earlier_bakerys_fleet(fleet: Fleet) -> None:
    checked = FleetIdentityProvider().check({}, _props(FLEET)).inputs

    assert (checked["fleet_id"], checked["adopted"]) == (FLEET, True)


def test_fleet_identity_diff_never_replaces(fleet: Fleet) -> None:
    olds = {**_props(), "fleet_id": "x#1"}

    diff = FleetIdentityProvider().diff("x#1", olds, _props("other/stack/name", fleet_id="x#1"))

    assert diff.replaces == []


def test_fleet_identity_delete_retires_every_group_of_the_id_without_force(fleet: Fleet) -> None:
    add_group(fleet, "web-b", "B")  # e.g. the group a failed first cutover retained
    add_group(fleet, "api-a", "A", fleet_tag="project/dev/api#0123456789ab")

    FleetIdentityProvider().delete(FLEET, {**_props(FLEET), "fleet_id": FLEET})

    assert groups.describe_group(fleet.autoscaling, "web") is None
    assert groups.describe_group(fleet.autoscaling, "web-b") is None
    assert groups.describe_group(fleet.autoscaling, "api-a") is not None
    assert sorted(asg_health.DELETIONS) == [("web", False), ("web-b", False)]


def test_fleet_identity_provider_host_over_grpc_keeps_its_id_and_retires_on_delete(
    moto_endpoint: str,
) -> None:
    # The real host (python -m pulumi.dynamic) in another process: what the engine runs.
    with instance_refresh.installed():
        where = {"region": REGION, "endpoint_url": moto_endpoint}
        make_fleet(make_client("autoscaling", **where), make_client("ec2", **where))
        urn = "urn:pulumi:test::bakery::pulumi-python:dynamic/bakery:FleetIdentity::web-fleet"
        host = ProviderHost(FleetIdentityProvider())
        try:
            host.configure({"aws:region": REGION})
            props = _props("project/dev/api", endpoint_url=moto_endpoint)
            inputs, failures = host.check(urn, {}, props)
            id_, outs = host.create(urn, inputs)
            again, _ = host.check(urn, inputs, {**props, "legacy_key": "project/renamed/api"})
            adopted, _ = host.check(urn, {}, _props(FLEET, endpoint_url=moto_endpoint))
            host.delete(urn, FLEET, {**adopted, "fleet_id": FLEET})
            left = make_client("autoscaling", **where).describe_auto_scaling_groups()
        finally:
            host.close()

    assert failures == [] and id_ == outs["fleet_id"] == inputs["fleet_id"]
    assert again["fleet_id"] == id_
    assert adopted["fleet_id"] == FLEET and adopted["adopted"] is True
    assert left["AutoScalingGroups"] == []  # "web" drained and deleted by the host
