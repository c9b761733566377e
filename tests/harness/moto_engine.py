"""A small Pulumi engine backed by moto, for component tests that run providers for real.

``MotoEngine`` stands in for the Pulumi engine *and* the aws provider: each ``up``
runs the program under ``set_mocks``; ``aws:*`` resources are created, updated,
replaced or deleted in moto with boto3; Bakery's dynamic resources are unpickled
from ``__provider`` and their check/diff/create/update/delete run for real. It
keeps the engine's rules that matter to a rollout (pulumi/pulumi, read for 3.27x):
replacement is create-new-then-delete-old; a replaced resource is marked pending
delete when its replacement is *created*, deleted at the end of a successful update,
or else at the *start* of the next one (``retirePendingDeletes``); a failed create
marks nothing; ``retain_on_delete`` drops a resource without deleting it;
``ignore_changes`` keeps the old input. What it does not do: previews, parallelism
limits, refresh, or any aws resource property beyond the few below (any other type
is refused with NotImplementedError). Its own tests: tests/harness/test_moto_engine.py.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi

from providers.aws.clients import make_client
from tests.conftest import REGION
from tests.harness.recording_mocks import (
    DYNAMIC,
    GROUP,
    LAUNCH_CONFIGURATION,
    LAUNCH_TEMPLATE,
    OptionsMonitor,
    auto_name,
)


@dataclass
class Live:
    """A resource the engine's state holds."""

    urn: str
    typ: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    options: dict[str, Any]


# Inputs whose change the aws provider answers with a replacement (ForceNew).
FORCE_NEW: dict[str, Callable[[str], bool]] = {
    LAUNCH_TEMPLATE: lambda key: key in ("name", "namePrefix"),
    # Launch configurations are immutable: every argument forces a new one.
    LAUNCH_CONFIGURATION: lambda key: True,
    GROUP: lambda key: key in ("name", "namePrefix"),
}


def _int(value: Any) -> int:
    return int(value)


def _template_data(inputs: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"ImageId": inputs["imageId"], "InstanceType": inputs["instanceType"]}
    if inputs.get("keyName"):
        data["KeyName"] = inputs["keyName"]
    if inputs.get("vpcSecurityGroupIds"):
        data["SecurityGroupIds"] = list(inputs["vpcSecurityGroupIds"])
    if inputs.get("userData"):
        data["UserData"] = inputs["userData"]
    profile = inputs.get("iamInstanceProfile") or {}
    if profile:
        data["IamInstanceProfile"] = {k.capitalize(): v for k, v in profile.items()}
    metadata = inputs.get("metadataOptions") or {}
    if metadata:
        data["MetadataOptions"] = {
            "HttpTokens": metadata.get("httpTokens", "optional"),
            "HttpEndpoint": metadata.get("httpEndpoint", "enabled"),
        }
    return data


class MotoEngine(pulumi.runtime.Mocks):
    """Runs programs as ``pulumi up`` would, against moto (see the module docstring)."""

    def __init__(self) -> None:
        self.live: dict[str, Live] = {}
        self.pending: list[Live] = []
        self.steps: list[tuple[str, str]] = []
        self.groups_when: dict[str, list[list[str]]] = {}
        self.current = threading.local()
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self.autoscaling = make_client("autoscaling", region=REGION)
        self.ec2 = make_client("ec2", region=REGION)
        self.elbv2 = make_client("elbv2", region=REGION)
        self.cloudwatch = make_client("cloudwatch", region=REGION)
        self.project, self.stack = "project", "stack"

    def destroy(self) -> None:
        """``pulumi destroy``: every resource, newest first (dependents before what they use)."""
        self._retire(self.pending)
        self._retire(list(self.live.values()))
        self.live.clear()

    def rename_stack(self, stack: str) -> None:
        """``pulumi stack rename``: the state moves, every URN takes the new stack name."""
        old = f"urn:pulumi:{self.stack}::"
        moved: dict[str, Live] = {}
        for urn, live in self.live.items():
            live.urn = urn.replace(old, f"urn:pulumi:{stack}::", 1)
            moved[live.urn] = live
        self.live, self.stack = moved, stack

    # -- the engine ----------------------------------------------------------------

    def up(self, program: Callable[[], Any]) -> None:
        """One ``pulumi up``: pending deletes first, the program, then deletes."""
        self._retire(self.pending)
        self._seen = set()
        pulumi.runtime.set_mocks(
            self,
            project=self.project,
            stack=self.stack,
            preview=False,
            monitor=OptionsMonitor(self),
        )
        pulumi.runtime.test(program)()  # raises what failed the update; pending stays
        self._retire(self.pending)
        gone = [live for urn, live in self.live.items() if urn not in self._seen]
        self._retire(gone)
        for live in gone:
            self.live.pop(live.urn, None)

    def _retire(self, olds: list[Live]) -> None:
        for old in reversed(list(olds)):
            if old.options.get("retain_on_delete"):
                self.steps.append(("retain", old.name))
            else:
                self._delete(old)
            if old in self.pending:
                self.pending.remove(old)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn: str = self.current.urn
        options: dict[str, Any] = self.current.options
        inputs = dict(args.inputs)
        if not args.custom:
            return "", {}  # a component: nothing to create
        with self._lock:
            self._seen.add(urn)
            old = self.live.get(urn)
        if args.typ.startswith(DYNAMIC):
            inputs = self._check(inputs, old)
        if old is not None:
            for key in options["ignore_changes"]:
                if key in old.inputs:
                    inputs[key] = old.inputs[key]
            changed, replace = self._diff(args.typ, old, inputs, options)
            if not changed:
                old.inputs = inputs
                return old.id, old.outputs
            if not replace:
                outputs = self._update(args.typ, old, inputs)
                old.inputs, old.outputs = inputs, outputs
                self.steps.append(("update", args.name))
                return old.id, outputs
        id_, outputs = self._create(args.typ, args.name, inputs)
        new = Live(urn, args.typ, args.name, id_, inputs, outputs, options)
        with self._lock:
            if old is not None:
                # The replacement exists: the old one is pending delete from now on.
                self.pending.append(old)
            self.live[urn] = new
        self.steps.append(("create" if old is None else "replace", args.name))
        return id_, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def _diff(
        self, typ: str, old: Live, inputs: dict[str, Any], options: dict[str, Any]
    ) -> tuple[bool, bool]:
        if typ.startswith(DYNAMIC):
            diff = _provider(inputs).diff(old.id, old.outputs, inputs)
            return bool(diff.changes), bool(diff.replaces)
        keys = set(old.inputs) | set(inputs)
        changed = [k for k in keys if old.inputs.get(k) != inputs.get(k)]
        force = FORCE_NEW.get(typ, lambda key: False)
        replace = any(force(k) or k in options["replace_on_changes"] for k in changed)
        return bool(changed), replace

    # -- resources -----------------------------------------------------------------

    def _check(self, inputs: dict[str, Any], old: Live | None) -> dict[str, Any]:
        result = _provider(inputs).check(old.inputs if old else {}, inputs)
        if result.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in result.failures))
        return dict(result.inputs)

    def _create(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if typ.startswith("pulumi:providers:"):  # a provider resource: nothing in AWS
            return f"{name}-id", dict(inputs)
        if typ.startswith(DYNAMIC):
            self.groups_when.setdefault(name, []).append(self._group_names())
            created = _provider(inputs).create(inputs)
            return created.id, {**(created.outs or {}), "__provider": inputs["__provider"]}
        outs = dict(inputs)
        physical = auto_name(inputs, name)
        outs["name"] = physical
        if typ == LAUNCH_TEMPLATE:
            made = self.ec2.create_launch_template(
                LaunchTemplateName=physical, LaunchTemplateData=_template_data(inputs)
            )["LaunchTemplate"]
            outs.update(id=made["LaunchTemplateId"], latestVersion=made["LatestVersionNumber"])
            return made["LaunchTemplateId"], outs
        if typ == LAUNCH_CONFIGURATION:
            extra = {
                "SecurityGroups": inputs.get("securityGroups"),
                "KeyName": inputs.get("keyName"),
                "UserData": inputs.get("userData"),
                "IamInstanceProfile": inputs.get("iamInstanceProfile"),
            }
            self.autoscaling.create_launch_configuration(
                LaunchConfigurationName=physical,
                ImageId=inputs["imageId"],
                InstanceType=inputs["instanceType"],
                **{k: v for k, v in extra.items() if v},
            )
            return physical, outs
        if typ == GROUP:
            self.autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=physical, **self._group_params(inputs)
            )
            outs["arn"] = self._describe_group(physical)["AutoScalingGroupARN"]
            return physical, outs
        raise NotImplementedError(f"the moto engine cannot create {typ}")

    def _update(self, typ: str, old: Live, inputs: dict[str, Any]) -> dict[str, Any]:
        if typ.startswith(DYNAMIC):
            updated = _provider(inputs).update(old.id, old.outputs, inputs)
            return {**(updated.outs or {}), "__provider": inputs["__provider"]}
        outs = {**old.outputs, **inputs}
        if typ == LAUNCH_TEMPLATE:
            # As pulumi-aws (terraform-provider-aws launch_template.go, update): a new
            # version only when something but these changed; then, with
            # update_default_version, ModifyLaunchTemplate makes the latest the default.
            unversioned = {
                "defaultVersion",
                "description",
                "tags",
                "tagsAll",
                "updateDefaultVersion",
            }
            if any(
                old.inputs.get(k) != inputs.get(k) for k in {*old.inputs, *inputs} - unversioned
            ):
                made = self.ec2.create_launch_template_version(
                    LaunchTemplateId=old.id, LaunchTemplateData=_template_data(inputs)
                )["LaunchTemplateVersion"]
                outs["latestVersion"] = made["VersionNumber"]
            if inputs.get("updateDefaultVersion"):
                self.ec2.modify_launch_template(
                    LaunchTemplateId=old.id, DefaultVersion=str(outs["latestVersion"])
                )
                outs["defaultVersion"] = outs["latestVersion"]
            return outs
        if typ == GROUP:
            params = self._group_params(inputs)
            params.pop("Tags")
            self.autoscaling.update_auto_scaling_group(AutoScalingGroupName=old.id, **params)
            return outs
        raise NotImplementedError(f"the moto engine cannot update {typ}")

    def _delete(self, old: Live) -> None:
        self.steps.append(("delete", old.name))
        if old.typ.startswith(DYNAMIC):
            _provider(old.outputs).delete(old.id, old.outputs)
        elif old.typ == LAUNCH_TEMPLATE:
            self.ec2.delete_launch_template(LaunchTemplateId=old.id)
        elif old.typ == LAUNCH_CONFIGURATION:
            self.autoscaling.delete_launch_configuration(LaunchConfigurationName=old.id)
        elif old.typ == GROUP and self._group_exists(old.id):
            # As pulumi-aws (terraform-provider-aws drainGroup): scale to zero, wait for
            # the instances to go, delete without ForceDelete. A group already gone
            # counts as deleted.
            self.autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=old.id, MinSize=0, DesiredCapacity=0, MaxSize=0
            )
            self.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=old.id)

    @staticmethod
    def _group_params(inputs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "MinSize": _int(inputs["minSize"]),
            "MaxSize": _int(inputs["maxSize"]),
            "VPCZoneIdentifier": ",".join(inputs["vpcZoneIdentifiers"]),
            "HealthCheckType": inputs.get("healthCheckType", "EC2"),
            "HealthCheckGracePeriod": _int(inputs.get("healthCheckGracePeriod", 300)),
            "Tags": [
                {
                    "Key": t["key"],
                    "Value": t["value"],
                    "PropagateAtLaunch": bool(t["propagateAtLaunch"]),
                }
                for t in inputs.get("tags") or []
            ],
        }
        if inputs.get("desiredCapacity") is not None:
            params["DesiredCapacity"] = _int(inputs["desiredCapacity"])
        if inputs.get("targetGroupArns"):
            params["TargetGroupARNs"] = list(inputs["targetGroupArns"])
        if inputs.get("defaultInstanceWarmup") is not None:
            params["DefaultInstanceWarmup"] = _int(inputs["defaultInstanceWarmup"])
        template = inputs.get("launchTemplate")
        if template:
            params["LaunchTemplate"] = {
                "LaunchTemplateId": template["id"],
                "Version": str(template["version"]),
            }
        else:
            params["LaunchConfigurationName"] = inputs["launchConfiguration"]
        return params

    # -- looking at AWS ------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """The group as DescribeAutoScalingGroups shows it."""
        return self._describe_group(name)

    def sent(self, operation: str) -> list[dict[str, Any]]:
        """Parameters of every Auto Scaling ``operation`` the providers send from now on."""
        seen: list[dict[str, Any]] = []

        def record(params: dict[str, Any], **_: Any) -> None:
            seen.append(params)

        self.autoscaling.meta.events.register(
            f"before-parameter-build.autoscaling.{operation}", record
        )
        return seen

    def _describe_group(self, name: str) -> dict[str, Any]:
        found = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        return dict(found["AutoScalingGroups"][0])

    def _group_exists(self, name: str) -> bool:
        found = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        return bool(found["AutoScalingGroups"])

    def _group_names(self) -> list[str]:
        found = self.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        return sorted(g["AutoScalingGroupName"] for g in found)

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """Every group in moto: its instances, each with ImageId and health."""
        out: dict[str, list[dict[str, Any]]] = {}
        for group in self.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
            members = group["Instances"]
            images: dict[str, str] = {}
            if members:
                ids = [i["InstanceId"] for i in members]
                for r in self.ec2.describe_instances(InstanceIds=ids)["Reservations"]:
                    images.update({i["InstanceId"]: i["ImageId"] for i in r["Instances"]})
            out[group["AutoScalingGroupName"]] = [
                {**i, "ImageId": images[i["InstanceId"]]} for i in members
            ]
        return out

    def serving_images(self) -> list[str]:
        """The image of every InService, healthy instance of every group."""
        return sorted(
            i["ImageId"]
            for members in self.groups().values()
            for i in members
            if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy"
        )

    def launch_configurations(self) -> list[str]:
        found = self.autoscaling.describe_launch_configurations()["LaunchConfigurations"]
        return sorted(c["LaunchConfigurationName"] for c in found)

    def output(self, urn_suffix: str, key: str) -> Any:
        matches = [live for urn, live in self.live.items() if urn.endswith(urn_suffix)]
        assert len(matches) == 1, list(self.live)
        return matches[0].outputs.get(key)


def _provider(props: dict[str, Any]) -> Any:
    return dill.loads(base64.b64decode(props["__provider"]))


@dataclass
class Network:
    """A VPC and subnet in moto, and images registered as a bake would leave them."""

    subnet_id: str
    ec2: Any
    images: list[str] = field(default_factory=list)

    def image(self, name: str) -> str:
        image_id = str(
            self.ec2.register_image(
                Name=name,
                RootDeviceName="/dev/sda1",
                BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
            )["ImageId"]
        )
        self.images.append(image_id)
        return image_id
