"""ImageFleet under Pulumi mocks: what it wires, and how it behaves against moto.

The wiring tests record registrations (``pulumi_mocks``). The behaviour tests run
successive ``pulumi up``s through ``moto_engine``, which creates the aws resources
in moto and runs Bakery's rollout providers for real.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components import ImageFleet, ImageFleetArgs
from providers.aws.clients import make_client
from providers.aws.errors import GroupUnhealthyError, ImageFleetArgsError, RefreshFailedError
from providers.aws.rules.rollout import RefreshPreferences
from providers.aws.tags import FLEET as FLEET_TAG
from providers.baked_image import BakedImage, BakedImageArgs
from tests.conftest import REGION
from tests.harness.clients import reuse_clients
from tests.harness.moto_engine import MotoEngine, Network
from tests.harness.recording_mocks import RecordingMocks
from tests.moto_ext import instance_refresh
from tests.moto_ext.golden import seed_golden_instance

SUBNETS = ["subnet-0a", "subnet-0b"]


def _args(**overrides: Any) -> ImageFleetArgs:
    fields: dict[str, Any] = {
        "image_id": "ami-0golden",
        "instance_type": "t3.micro",
        "subnet_ids": SUBNETS,
        "security_group_ids": ["sg-0web"],
        "user_data": "#!/bin/sh\necho hello\n",
        "min_size": 2,
        "max_size": 4,
        "desired_capacity": 3,
        "health_check_type": "ELB",
        "health_check_grace_period_s": 120,
        "tags": {"team": "web", "env": "test"},
    }
    fields.update(overrides)
    return ImageFleetArgs(**fields)


def _up(args: ImageFleetArgs, check: Callable[[ImageFleet], Any] | None = None) -> None:
    @pulumi.runtime.test
    def program() -> Any:
        fleet = ImageFleet("web", args)
        return check(fleet) if check else fleet.group_name

    program()


# --- wiring (mocks) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rollout", "launch", "carrier"),
    [
        ("rolling", "template", "launchTemplate:LaunchTemplate"),
        ("blue_green", "template", "launchTemplate:LaunchTemplate"),
        ("blue_green", "configuration", "launchConfiguration:LaunchConfiguration"),
    ],
)
def test_image_fleet_each_strategy_and_launch_kind_image_reaches_the_launch_spec(
    pulumi_mocks: RecordingMocks, rollout: str, launch: str, carrier: str
) -> None:
    _up(_args(rollout=rollout, launch=launch, image_id="ami-0b"))

    assert pulumi_mocks.one(carrier).inputs["imageId"] == "ami-0b"
    rolled = ":InstanceRefresh" if rollout == "rolling" else ":BlueGreenCutover"
    assert pulumi_mocks.one(rolled).inputs["image_id"] == "ami-0b"


def test_image_fleet_rolling_group_references_explicit_template_version(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args())

    template = pulumi_mocks.one("launchTemplate:LaunchTemplate")
    group = pulumi_mocks.one("group:Group")
    assert template.inputs["imageId"] == "ami-0golden"
    assert group.inputs["launchTemplate"] == {"id": "lt-0mock", "version": "1"}
    assert "launchConfiguration" not in group.inputs
    assert "instanceRefresh" not in group.inputs  # our InstanceRefresh is the source of truth
    # The refresh, not Pulumi, moves the group to a new version (rollback stays real).
    assert group.options["ignore_changes"] == ["launchTemplate"]
    # Never deleted by the engine: the FleetIdentity drains it on destroy.
    assert group.options["retain_on_delete"] is True


def test_image_fleet_rolling_refresh_preferences_as_configured(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(
        _args(
            refresh=RefreshPreferences(
                min_healthy_percentage=75,
                instance_warmup_s=90,
                checkpoint_percentages=(25, 100),
                checkpoint_delay_s=600,
            ),
            rollout_timeout_s=1800,
        )
    )

    refresh = pulumi_mocks.one(":InstanceRefresh")
    assert refresh.typ == "pulumi-python:dynamic/bakery:InstanceRefresh"
    assert {k: v for k, v in refresh.inputs.items() if k not in ("__provider", "group_name")} == {
        "launch_template_id": "lt-0mock",
        "launch_template_version": "1",
        "image_id": "ami-0golden",
        "min_healthy_percentage": 75,
        "instance_warmup_s": 90,
        "checkpoint_percentages": [25, 100],
        "checkpoint_delay_s": 600,
        "skip_matching": True,
        "auto_rollback": True,
        "standby_instances": "Ignore",
        "scale_in_protected_instances": "Ignore",
        "alarm_names": [],
        "desired_capacity": 3,
        "max_size": 4,
        "target_group_arns": [],
        "timeout_s": 1800,
    }
    assert refresh.inputs["group_name"].startswith("web-")


def test_image_fleet_rolling_default_min_healthy_is_90_with_rollback_and_skip_matching(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args())

    refresh = pulumi_mocks.one(":InstanceRefresh").inputs
    assert refresh["min_healthy_percentage"] == 90
    assert refresh["auto_rollback"] is True and refresh["skip_matching"] is True


def test_image_fleet_template_gets_image_security_groups_and_encoded_user_data(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args(iam_instance_profile="web-profile", key_name="ops"))

    template = pulumi_mocks.one("launchTemplate:LaunchTemplate").inputs
    assert template["namePrefix"] == "web-"
    assert template["vpcSecurityGroupIds"] == ["sg-0web"]
    assert template["iamInstanceProfile"] == {"name": "web-profile"}
    assert template["keyName"] == "ops"
    assert base64.b64decode(template["userData"]).decode() == "#!/bin/sh\necho hello\n"


def test_image_fleet_tags_propagate_to_instances(pulumi_mocks: RecordingMocks) -> None:
    _up(_args())

    tags = pulumi_mocks.one("group:Group").inputs["tags"]
    assert {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in tags} == {
        "env": ("test", True),
        "team": ("web", True),
        # The fleet id: unique per fleet, made once and kept in the state.
        FLEET_TAG: ("project/stack/web#0123456789ab", False),
    }


def test_image_fleet_group_sizes_and_health_check_as_given(pulumi_mocks: RecordingMocks) -> None:
    _up(_args())

    group = pulumi_mocks.one("group:Group").inputs
    assert (group["minSize"], group["maxSize"], group["desiredCapacity"]) == (2, 4, 3)
    assert group["vpcZoneIdentifiers"] == SUBNETS
    assert (group["healthCheckType"], group["healthCheckGracePeriod"]) == ("ELB", 120)
    assert group["namePrefix"] == "web-" and group["waitForCapacityTimeout"] == "0"


def test_image_fleet_subnets_from_an_output_reach_the_group(pulumi_mocks: RecordingMocks) -> None:
    _up(_args(subnet_ids=pulumi.Output.from_input(SUBNETS)))

    assert pulumi_mocks.one("group:Group").inputs["vpcZoneIdentifiers"] == SUBNETS


def test_image_fleet_blue_green_template_group_replaced_new_before_old(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args(rollout="blue_green"))

    group = pulumi_mocks.one("group:Group")
    assert group.inputs["launchTemplate"] == {"id": "lt-0mock", "version": "1"}
    assert group.options["replace_on_changes"] == ["launchTemplate", "launchConfiguration"]
    assert group.options["delete_before_replace"] is False
    # The engine must never delete an old group; the cutover does, once it is safe.
    assert group.options["retain_on_delete"] is True
    cutover = pulumi_mocks.one(":BlueGreenCutover").inputs
    assert cutover["image_id"] == "ami-0golden"
    assert cutover["fleet"] == "project/stack/web#0123456789ab"
    assert cutover["launch_template_version"] == "1"
    assert pulumi_mocks.of(":InstanceRefresh") == []


def test_image_fleet_blue_green_configuration_uses_name_prefix_and_create_before_delete(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args(rollout="blue_green", launch="configuration", iam_instance_profile="web-profile"))

    config = pulumi_mocks.one("launchConfiguration:LaunchConfiguration")
    assert config.inputs["imageId"] == "ami-0golden"
    assert config.inputs["namePrefix"] == "web-lc-" and "name" not in config.inputs
    assert config.inputs["userData"] == "#!/bin/sh\necho hello\n"
    assert config.inputs["securityGroups"] == ["sg-0web"]
    assert config.options["delete_before_replace"] is False
    assert config.options["retain_on_delete"] is True
    group = pulumi_mocks.one("group:Group").inputs
    assert group["launchConfiguration"].startswith("web-lc-")
    assert "launchTemplate" not in group
    assert pulumi_mocks.of("launchTemplate:LaunchTemplate") == []
    cutover = pulumi_mocks.one(":BlueGreenCutover").inputs
    assert cutover["launch_configuration_prefix"] == "web-lc-"


def test_image_fleet_children_are_parented_to_the_component(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args())

    component = pulumi_mocks.one("ImageFleet")
    assert component.typ == "bakery:index:ImageFleet"
    children = [r for r in pulumi_mocks.registrations if r is not component]
    assert {r.name for r in children} == {"web-fleet", "web-lt", "web-asg", "web-rollout"}
    assert all("bakery:index:ImageFleet::web" in r.options["parent"] for r in children)


def test_image_fleet_outputs_name_group_template_and_image(pulumi_mocks: RecordingMocks) -> None:
    def check(fleet: ImageFleet) -> Any:
        def verify(values: list[Any]) -> None:
            name, arn, template, version, config, image = values
            assert name.startswith("web-") and arn.startswith("arn:aws:")
            assert (template, version, config, image) == ("lt-0mock", "1", None, "ami-0golden")

        return pulumi.Output.all(
            fleet.group_name,
            fleet.group_arn,
            fleet.launch_template_id,
            fleet.launch_template_version,
            fleet.launch_configuration_name,
            fleet.image_id,
        ).apply(verify)

    _up(_args(), check)


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"min_size": 5, "max_size": 3, "desired_capacity": None}, "min_size", "max_size is 3"),
        ({"desired_capacity": 9}, "desired_capacity", "[2, 4]"),
        ({"subnet_ids": []}, "subnet_ids", "at least one subnet"),
        (
            {"refresh": RefreshPreferences(min_healthy_percentage=120)},
            "min_healthy_percentage",
            "0 to 100",
        ),
        ({"launch": "configuration"}, "rollout", 'use rollout="blue_green"'),
        (
            {"refresh": RefreshPreferences(checkpoint_percentages=(50,), checkpoint_delay_s=60)},
            "checkpoint_percentages",
            "ending at 100",
        ),
        ({"launch": "lc"}, "launch", '"template"'),
        (
            {"image_id": "resolve:ssm:/golden/latest"},
            "image_id",
            "auto-rollback is not supported with an SSM parameter",
        ),
    ],
)
def test_image_fleet_bad_input_fails_at_preview_naming_the_field(
    pulumi_preview_mocks: RecordingMocks, overrides: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ImageFleetArgsError) as caught:
        _up(_args(**overrides))

    assert caught.value.field == field
    assert says in str(caught.value)
    assert pulumi_preview_mocks.registrations == []


def test_image_fleet_several_bad_inputs_are_reported_together(
    pulumi_preview_mocks: RecordingMocks,
) -> None:
    with pytest.raises(ImageFleetArgsError) as caught:
        _up(
            _args(
                subnet_ids=[],
                refresh=RefreshPreferences(min_healthy_percentage=-1),
                desired_capacity=0,
            )
        )

    assert [p.field for p in caught.value.problems] == [
        "subnet_ids",
        "desired_capacity",
        "min_healthy_percentage",
    ]


# --- behaviour against moto ------------------------------------------------------------


def _moto_args(network: Network, image: str, **overrides: Any) -> ImageFleetArgs:
    fields: dict[str, Any] = {
        "image_id": image,
        "instance_type": "t3.micro",
        "subnet_ids": [network.subnet_id],
        "min_size": 2,
        "max_size": 4,
        "desired_capacity": 2,
        "tags": {"team": "web"},
        "refresh": RefreshPreferences(min_healthy_percentage=50),
        "rollout_timeout_s": 600,
    }
    fields.update(overrides)
    return ImageFleetArgs(**fields)


def _program(args: ImageFleetArgs) -> Callable[[], Any]:
    def program() -> Any:
        return ImageFleet("web", args).image_id

    return program


@pytest.mark.parametrize("launch", ["template", "configuration"])
def test_image_fleet_blue_green_image_b_replaces_image_a_everywhere(
    moto_engine: MotoEngine, network: Network, launch: str
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")

    moto_engine.up(_program(_moto_args(network, image_a, rollout="blue_green", launch=launch)))
    first = moto_engine.output("web-asg", "name")
    moto_engine.up(_program(_moto_args(network, image_b, rollout="blue_green", launch=launch)))

    second = moto_engine.output("web-asg", "name")
    assert second != first and list(moto_engine.groups()) == [second]
    assert moto_engine.serving_images() == [image_b, image_b]
    assert moto_engine.output("web-cutover", "retired_groups") == [first]
    assert moto_engine.output("web-cutover", "image_id") == image_b
    # The old group was still there when the new one's cutover began.
    assert moto_engine.groups_when["web-cutover"][-1] == sorted([first, second])
    # Tags reached the instances.
    instance = moto_engine.groups()[second][0]["InstanceId"]
    described = moto_engine.ec2.describe_instances(InstanceIds=[instance])
    tags = {t["Key"]: t["Value"] for t in described["Reservations"][0]["Instances"][0]["Tags"]}
    assert tags["team"] == "web"
    if launch == "configuration":
        # The old configuration went after its group: no ResourceInUse (the extension
        # refuses, as AWS does), and only the serving group's configuration is left.
        assert moto_engine.launch_configurations() == [moto_engine.output("web-lc", "name")]


def test_image_fleet_blue_green_unhealthy_image_fails_and_old_group_keeps_serving_then_recovers(
    moto_engine: MotoEngine, network: Network
) -> None:
    good, bad, fixed = (network.image(n) for n in ("golden-a", "golden-bad", "golden-c"))
    instance_refresh.mark_unhealthy(bad)
    moto_engine.up(_program(_moto_args(network, good, rollout="blue_green")))
    serving = moto_engine.output("web-asg", "name")

    with pytest.raises(GroupUnhealthyError) as caught:
        moto_engine.up(_program(_moto_args(network, bad, rollout="blue_green")))

    message = str(caught.value)
    assert "did not get 2 InService, healthy instance(s) running " + bad in message
    assert "Unhealthy" in message and "keep serving and were not removed" in message
    assert moto_engine.serving_images() == [good, good]
    assert serving in moto_engine.groups()

    # The next up deletes pending deletes first: the old group must survive that.
    moto_engine.up(_program(_moto_args(network, fixed, rollout="blue_green")))

    # It still served when the fixed group's cutover began; the engine only dropped it.
    assert serving in moto_engine.groups_when["web-cutover"][-1]
    assert ("retain", "web-asg") in moto_engine.steps
    assert moto_engine.serving_images() == [fixed, fixed]
    assert list(moto_engine.groups()) == [moto_engine.output("web-asg", "name")]


def test_image_fleet_rolling_image_b_refreshes_the_group_to_the_next_version(
    moto_engine: MotoEngine, network: Network
) -> None:
    image_a, image_b = network.image("golden-a"), network.image("golden-b")

    moto_engine.up(_program(_moto_args(network, image_a)))
    group = moto_engine.output("web-asg", "name")
    assert moto_engine.output("web-rollout", "status") == "AlreadyCurrent"
    moto_engine.up(_program(_moto_args(network, image_b)))

    assert list(moto_engine.groups()) == [group]  # the same group, refreshed
    assert moto_engine.serving_images() == [image_b, image_b]
    described = moto_engine.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    assert described["AutoScalingGroups"][0]["LaunchTemplate"]["Version"] == "2"
    assert moto_engine.output("web-rollout", "status") == "Successful"
    assert moto_engine.output("web-rollout", "launch_template_version") == "2"
    assert ("update", "web-rollout") in moto_engine.steps


def test_image_fleet_rolling_unhealthy_image_fails_with_rollback_and_old_image_serves(
    moto_engine: MotoEngine, network: Network
) -> None:
    good, bad = network.image("golden-a"), network.image("golden-bad")
    instance_refresh.mark_unhealthy(bad)
    moto_engine.up(_program(_moto_args(network, good)))
    group = moto_engine.output("web-asg", "name")

    with pytest.raises(RefreshFailedError) as caught:
        moto_engine.up(_program(_moto_args(network, bad)))

    assert caught.value.status == "RollbackSuccessful"
    assert "failed their health checks" in str(caught.value)
    assert "Auto-rollback succeeded" in str(caught.value)
    assert moto_engine.serving_images() == [good, good]
    described = moto_engine.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    assert described["AutoScalingGroups"][0]["LaunchTemplate"]["Version"] == "1"
    # The failed update kept the refresh's old state: the next up tries version 2 again.
    assert moto_engine.output("web-rollout", "launch_template_version") == "1"


@pytest.mark.parametrize("strategy", ["blue_green", "rolling"])
def test_image_fleet_baked_image_a_then_b_every_serving_instance_runs_b(
    moto_engine: MotoEngine, network: Network, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reuse_clients(monkeypatch)
    golden = seed_golden_instance(moto_engine.ec2, make_client("kms", region=REGION))

    def program(trigger: str) -> Callable[[], Any]:
        def run() -> Any:
            image = BakedImage(
                "golden", BakedImageArgs(instance_id=golden, triggers=[trigger], region=REGION)
            )
            args = _moto_args(network, "unused", rollout=strategy, region=REGION)
            args.image_id = image.image_id
            # The golden instance has a volume under a customer managed key, which the
            # Auto Scaling role may not use until granted (docs/distribution.md).
            args.create_kms_grant = True
            return ImageFleet("web", args).image_id

        return run

    moto_engine.up(program("A"))
    image_a = moto_engine.output("golden", "image_id")
    assert moto_engine.serving_images() == [image_a, image_a]
    moto_engine.up(program("B"))

    image_b = moto_engine.output("golden", "image_id")
    assert image_b != image_a and ("replace", "golden") in moto_engine.steps
    assert moto_engine.serving_images() == [image_b, image_b]
    rolled = "web-cutover" if strategy == "blue_green" else "web-rollout"
    assert moto_engine.output(rolled, "image_id") == image_b


def test_image_fleet_rolling_replaced_image_is_pruned_once_the_fleet_left_it(
    moto_engine: MotoEngine, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keep_previous 0: the template's default version follows the image, so once every
    instance runs B nothing names A and its retirement prunes it with its snapshots."""
    reuse_clients(monkeypatch)
    golden = seed_golden_instance(moto_engine.ec2, make_client("kms", region=REGION))

    def program(trigger: str) -> Callable[[], Any]:
        def run() -> Any:
            image = BakedImage(
                "golden",
                BakedImageArgs(
                    instance_id=golden, triggers=[trigger], region=REGION, keep_previous=0
                ),
            )
            args = _moto_args(network, "unused", rollout="rolling", region=REGION)
            args.image_id = image.image_id
            # The golden instance has a volume under a customer managed key, which the
            # Auto Scaling role may not use until granted (docs/distribution.md).
            args.create_kms_grant = True
            return ImageFleet("web", args).image_id

        return run

    moto_engine.up(program("A"))
    image_a = moto_engine.output("golden", "image_id")
    snapshots_a = set(moto_engine.output("golden", "snapshot_ids"))
    moto_engine.up(program("B"))

    image_b = moto_engine.output("golden", "image_id")
    assert moto_engine.serving_images() == [image_b, image_b]
    template = moto_engine.ec2.describe_launch_templates()["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == template["LatestVersionNumber"] == 2
    images = moto_engine.ec2.describe_images(Owners=["self"])["Images"]
    assert {i["ImageId"] for i in images} == {image_b} and image_a != image_b
    left = {
        s["SnapshotId"] for s in moto_engine.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    }
    assert not left & snapshots_a


# --- inputs: IMDSv2, pass-through overrides, preview-time checks -----------------------


def test_image_fleet_launch_template_requires_imdsv2_by_default(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args())

    template = pulumi_mocks.one("launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required"}


def test_image_fleet_imds_tokens_optional_when_asked(pulumi_mocks: RecordingMocks) -> None:
    _up(_args(metadata_http_tokens="optional"))

    template = pulumi_mocks.one("launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"]["httpTokens"] == "optional"


def test_image_fleet_pass_through_overrides_reach_the_pulumi_aws_resources(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(
        _args(
            launch_template_args={
                "block_device_mappings": [
                    {
                        "device_name": "/dev/xvda",
                        "ebs": {"volume_size": 50, "volume_type": "gp3", "encrypted": "true"},
                    }
                ],
                "metadata_options": {"http_tokens": "required", "http_put_response_hop_limit": 2},
            },
            group_args={"termination_policies": ["OldestInstance"], "capacity_rebalance": True},
        )
    )

    template = pulumi_mocks.one("launchTemplate:LaunchTemplate").inputs
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 50
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 2
    group = pulumi_mocks.one("group:Group").inputs
    assert group["terminationPolicies"] == ["OldestInstance"]
    assert group["capacityRebalance"] is True
    assert group["minSize"] == 2  # Bakery's own values stay


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"launch_template_args": {"image_id": "ami-0other"}}, "launch_template_args.image_id"),
        ({"group_args": {"min_size": 0}}, "group_args.min_size"),
        ({"group_args": {"instance_refresh": {}}}, "group_args.instance_refresh"),
    ],
)
def test_image_fleet_overriding_a_protected_key_fails_naming_it(
    pulumi_preview_mocks: RecordingMocks, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ImageFleetArgsError) as caught:
        _up(_args(**overrides))

    assert caught.value.field == field
    assert "Bakery sets" in str(caught.value)
    assert pulumi_preview_mocks.registrations == []


def test_image_fleet_checkpoints_without_delay_fail_at_preview(
    pulumi_preview_mocks: RecordingMocks,
) -> None:
    with pytest.raises(ImageFleetArgsError) as caught:
        _up(_args(refresh=RefreshPreferences(checkpoint_percentages=(50, 100))))

    assert caught.value.field == "checkpoint_delay_s"
    assert "3600 s at each checkpoint" in str(caught.value)


def test_image_fleet_max_size_without_room_to_launch_first_fails_at_preview(
    pulumi_preview_mocks: RecordingMocks,
) -> None:
    with pytest.raises(ImageFleetArgsError) as caught:
        _up(_args(min_size=1, max_size=1, desired_capacity=1))

    assert caught.value.field == "max_size" and "needs room for 2" in str(caught.value)


def test_image_fleet_timeout_shorter_than_the_estimate_warns_at_preview(
    pulumi_preview_mocks: RecordingMocks, caplog: pytest.LogCaptureFixture
) -> None:
    prefs = RefreshPreferences(checkpoint_percentages=(50, 100), checkpoint_delay_s=1800)

    _up(_args(min_size=9, max_size=10, desired_capacity=9, refresh=prefs))

    warned = [r.getMessage() for r in caplog.records if "estimated at" in r.getMessage()]
    assert len(warned) == 1 and "raise rollout_timeout_s" in warned[0]


def test_image_fleet_target_groups_make_elb_the_default_health_check(
    pulumi_mocks: RecordingMocks,
) -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1"

    _up(_args(health_check_type=None, target_group_arns=[arn], rollout="blue_green"))

    assert pulumi_mocks.one("group:Group").inputs["healthCheckType"] == "ELB"
    assert pulumi_mocks.one(":BlueGreenCutover").inputs["target_group_arns"] == [arn]


def test_image_fleet_fleet_identity_is_created_before_the_group(
    pulumi_mocks: RecordingMocks,
) -> None:
    _up(_args())

    types = [r.typ.rsplit(":", 1)[-1] for r in pulumi_mocks.registrations]
    assert types.index("FleetIdentity") < types.index("Group")
    identity = pulumi_mocks.one(":FleetIdentity").inputs
    assert identity["legacy_key"] == "project/stack/web"
