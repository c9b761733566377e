"""The moto-backed engine: creates, updates, replaces and deletes what it supports, as
``pulumi up`` would, refuses what it does not, and records what it sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from tests.harness.moto_engine import MotoEngine, Network
from tests.harness.recording_mocks import GROUP, LAUNCH_CONFIGURATION, LAUNCH_TEMPLATE


@pytest.fixture
def engine(aws: None) -> Iterator[MotoEngine]:
    yield MotoEngine()


@pytest.fixture
def network(engine: MotoEngine) -> Network:
    vpc = engine.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = engine.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]
    return Network(subnet["SubnetId"], engine.ec2)


def _template(name: str, image_id: str, **opts: Any) -> pulumi.CustomResource:
    props = {"name": name, "imageId": image_id, "instanceType": "t3.micro"}
    return pulumi.CustomResource(LAUNCH_TEMPLATE, name, props, pulumi.ResourceOptions(**opts))


def _configuration(name: str, image_id: str, **opts: Any) -> pulumi.CustomResource:
    props = {"namePrefix": f"{name}-", "imageId": image_id, "instanceType": "t3.micro"}
    return pulumi.CustomResource(LAUNCH_CONFIGURATION, name, props, pulumi.ResourceOptions(**opts))


def _group(name: str, subnet: str, configuration: pulumi.Input[str], size: int = 1) -> None:
    props = {
        "name": name,
        "minSize": size,
        "maxSize": size,
        "desiredCapacity": size,
        "vpcZoneIdentifiers": [subnet],
        "launchConfiguration": configuration,
    }
    pulumi.CustomResource(GROUP, name, props)


def _fleet(network: Network, image_id: str, size: int = 1) -> Callable[[], None]:
    def program() -> None:
        lc = _configuration("web-lc", image_id)
        _group("web", network.subnet_id, lc.id, size)

    return program


def _templates(engine: MotoEngine) -> dict[str, int]:
    found = engine.ec2.describe_launch_templates()["LaunchTemplates"]
    return {t["LaunchTemplateName"]: t["LatestVersionNumber"] for t in found}


def test_up_new_resources_creates_them_in_moto(engine: MotoEngine, network: Network) -> None:
    image = network.image("golden-1")

    engine.up(_fleet(network, image))

    assert engine.steps == [("create", "web-lc"), ("create", "web")]
    [config] = engine.launch_configurations()
    assert config.startswith("web-lc-")
    assert engine.describe("web")["LaunchConfigurationName"] == config
    assert [i["ImageId"] for i in engine.groups()["web"]] == [image]


def test_up_changed_input_updates_in_place(engine: MotoEngine, network: Network) -> None:
    image = network.image("golden-1")
    engine.up(_fleet(network, image, size=1))
    engine.steps.clear()
    updates = engine.sent("UpdateAutoScalingGroup")

    engine.up(_fleet(network, image, size=2))

    assert engine.steps == [("update", "web")]
    assert [u["DesiredCapacity"] for u in updates] == [2]
    assert engine.describe("web")["DesiredCapacity"] == 2


def test_up_launch_template_change_adds_a_version(engine: MotoEngine, network: Network) -> None:
    first, second = network.image("golden-1"), network.image("golden-2")
    engine.up(lambda: _template("web-lt", first))

    engine.up(lambda: _template("web-lt", second))

    assert engine.steps == [("create", "web-lt"), ("update", "web-lt")]
    assert _templates(engine) == {"web-lt": 2}
    assert engine.output("web-lt", "latestVersion") == 2


def test_up_force_new_change_creates_the_new_then_deletes_the_old(
    engine: MotoEngine, network: Network
) -> None:
    first, second = network.image("golden-1"), network.image("golden-2")
    engine.up(_fleet(network, first))
    [old] = engine.launch_configurations()
    engine.steps.clear()

    engine.up(_fleet(network, second))

    assert engine.steps == [("replace", "web-lc"), ("update", "web"), ("delete", "web-lc")]
    [new] = engine.launch_configurations()
    assert new != old and engine.describe("web")["LaunchConfigurationName"] == new
    assert engine.pending == []


def test_up_failed_update_keeps_the_replaced_resource_pending_until_the_next(
    engine: MotoEngine, network: Network
) -> None:
    first, second = network.image("golden-1"), network.image("golden-2")
    engine.up(_fleet(network, first))
    [old] = engine.launch_configurations()

    def failing() -> None:
        _configuration("web-lc", second)
        pulumi.CustomResource("aws:s3/bucket:Bucket", "logs", {})

    with pytest.raises(Exception, match="cannot create aws:s3/bucket:Bucket"):
        engine.up(failing)
    assert [p.name for p in engine.pending] == ["web-lc"] and old in engine.launch_configurations()

    engine.up(_fleet(network, second))

    assert old not in engine.launch_configurations() and engine.pending == []


def test_up_resource_left_out_of_the_program_is_deleted(
    engine: MotoEngine, network: Network
) -> None:
    image = network.image("golden-1")
    engine.up(lambda: (_template("web-lt", image), _template("old-lt", image)))

    engine.up(lambda: _template("web-lt", image))

    assert ("delete", "old-lt") in engine.steps
    assert _templates(engine) == {"web-lt": 1}


def test_up_retain_on_delete_drops_without_deleting(engine: MotoEngine, network: Network) -> None:
    image = network.image("golden-1")
    engine.up(lambda: _template("kept-lt", image, retain_on_delete=True))

    engine.up(lambda: None)

    assert engine.steps[-1] == ("retain", "kept-lt") and engine.live == {}
    assert _templates(engine) == {"kept-lt": 1}


def test_up_ignore_changes_keeps_the_old_input(engine: MotoEngine, network: Network) -> None:
    first, second = network.image("golden-1"), network.image("golden-2")
    engine.up(lambda: _template("web-lt", first, ignore_changes=["imageId"]))

    engine.up(lambda: _template("web-lt", second, ignore_changes=["imageId"]))

    assert engine.steps == [("create", "web-lt")]
    assert _templates(engine) == {"web-lt": 1}


@pytest.mark.parametrize("typ", ["aws:s3/bucket:Bucket", "aws:ec2/instance:Instance"])
def test_up_unknown_type_is_refused_with_not_implemented(engine: MotoEngine, typ: str) -> None:
    with pytest.raises(NotImplementedError, match=f"the moto engine cannot create {typ}"):
        engine.up(lambda: pulumi.CustomResource(typ, "thing", {}))

    assert engine.steps == [] and engine.live == {}


def test_destroy_deletes_everything_dependents_first(engine: MotoEngine, network: Network) -> None:
    engine.up(_fleet(network, network.image("golden-1")))
    engine.steps.clear()

    engine.destroy()

    assert engine.steps == [("delete", "web"), ("delete", "web-lc")]
    assert engine.groups() == {} and engine.launch_configurations() == []


def test_rename_stack_moves_every_urn(engine: MotoEngine, network: Network) -> None:
    image = network.image("golden-1")
    engine.up(lambda: _template("web-lt", image))

    engine.rename_stack("renamed")
    engine.up(lambda: _template("web-lt", image))

    assert all("urn:pulumi:renamed::" in urn for urn in engine.live)
    assert engine.steps == [("create", "web-lt")]  # the same resource, no change


# --- dynamic resources: the provider's own methods run ---------------------------------

CALLS: list[str] = []


class _Counter(ResourceProvider):
    serialize_as_secret_always = False  # as Bakery's providers: the engine reads it plain

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        return DiffResult(changes=olds["n"] != news["n"])

    def create(self, props: Any) -> CreateResult:
        CALLS.append(f"create {props['n']}")
        return CreateResult("counter-1", {"n": props["n"]})

    def update(self, _id: str, _olds: Any, news: Any) -> UpdateResult:
        CALLS.append(f"update {news['n']}")
        return UpdateResult({"n": news["n"]})

    def delete(self, _id: str, props: Any) -> None:
        CALLS.append(f"delete {props['n']}")


class _CounterResource(pulumi.dynamic.Resource, module="test", name="Counter"):
    def __init__(self, name: str, n: str) -> None:
        super().__init__(_Counter(), name, {"n": n})


def test_up_dynamic_resource_runs_its_provider(engine: MotoEngine) -> None:
    CALLS.clear()

    engine.up(lambda: _CounterResource("counter", "1"))
    engine.up(lambda: _CounterResource("counter", "2"))
    engine.up(lambda: None)

    assert CALLS == ["create 1", "update 2", "delete 2"]
    assert [s for s, _ in engine.steps] == ["create", "update", "delete"]
