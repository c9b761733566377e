"""BlueGreenCutover: a dynamic resource that makes a new group the fleet's serving one.

Adapts ``providers.aws.fleet.cutover`` to Pulumi's contract. The component marks groups
``retain_on_delete``: the engine deletes a replaced group at the start of the next
``up`` even when this update failed, so groups are deleted here (ownership rules in
``providers/aws/fleet/cutover.py``), never by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, Resource, UpdateResult

from providers import fleet_base
from providers.aws.fleet import cutover
from providers.aws.rules.rollout import DEFAULT_TIMEOUT_S
from providers.dynamic_props import progress
from providers.fleet_base import FleetProvider, required, timeout_failure, version

CUTOVER_INPUTS = (
    "group_name",
    "image_id",
    "fleet",
    "launch_template_id",
    "launch_template_version",
    "launch_configuration_name",
    "launch_configuration_prefix",
    "timeout_s",
    "region",
    "endpoint_url",
)
# Read when a cutover runs; a change of them alone is no new cutover.
CUTOVER_CONTEXT = ("target_group_arns",)
CUTOVER_REPLACE_KEYS = ("group_name", "fleet", "region", "endpoint_url")


class BlueGreenCutoverProvider(FleetProvider):
    """Waits until a new group serves the image, then retires the fleet's others.

    Pulumi contract: ``create`` returns once the group's capacity (at least what the
    serving group runs) is ready on the image, in every target group too, and every
    other group of the fleet (tag ``bakery:fleet`` = the fleet id) was drained and
    deleted; on failure it raises and deletes nothing, so the old group keeps
    serving. ``delete`` (a replaced, renamed or removed cutover, or destroy) deletes
    this cutover's group only when it does not serve, or another group of the fleet
    serves; the fleet's identity resource removes what is left on destroy.
    """

    INPUTS = CUTOVER_INPUTS
    REPLACE_KEYS = CUTOVER_REPLACE_KEYS

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """One failure per bad prop, naming it and the fix; unknowns pass until known."""
        inputs = dict(news)
        inputs["launch_template_version"] = version(news.get("launch_template_version"))
        failures = required(inputs, ("group_name", "image_id", "fleet"))
        failures += timeout_failure(inputs)
        return CheckResult(inputs, failures)

    def _cut_over(self, props: Mapping[str, Any]) -> dict[str, Any]:
        autoscaling, ec2, elbv2 = fleet_base.clients(
            props, self.default_region, "autoscaling", "ec2", "elbv2"
        )
        result = cutover.cut_over(
            autoscaling,
            ec2,
            props["group_name"],
            props["image_id"],
            props["fleet"],
            elbv2=elbv2,
            target_groups=list(props.get("target_group_arns") or []),
            launch_configuration_prefix=props.get("launch_configuration_prefix"),
            timeout_s=float(props.get("timeout_s", DEFAULT_TIMEOUT_S)),
            pacing=fleet_base.PACING,
            log=progress,
        )
        outs = {k: props.get(k) for k in (*CUTOVER_INPUTS, *CUTOVER_CONTEXT)}
        outs.update(
            healthy_instances=list(result.health.ready),
            retired_groups=list(result.retired),
        )
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Wait for the new group to serve the image, then retire the others."""
        return CreateResult(props["group_name"], self._cut_over(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """As ``create`` (same group): waits again, retires any other group again."""
        return UpdateResult(self._cut_over(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete this cutover's group unless it is the one serving the fleet.

        Runs after a replacement (once the new cutover succeeded: its group serves,
        so this one's goes), when ``rollout`` switches to rolling or the resource is
        renamed (the group serves and no other does: it stays), and on destroy.
        """
        autoscaling, ec2, elbv2 = fleet_base.clients(
            props, self.default_region, "autoscaling", "ec2", "elbv2"
        )
        prefix = props.get("launch_configuration_prefix")
        own_lc = props.get("launch_configuration_name") or ""
        cutover.release_group(
            autoscaling,
            ec2,
            props["group_name"],
            props["fleet"],
            elbv2=elbv2,
            launch_configuration=own_lc if prefix and own_lc.startswith(prefix) else None,
            pacing=fleet_base.PACING,
            log=progress,
        )


@dataclass
class BlueGreenCutoverArgs:
    """Inputs of a BlueGreenCutover: the new group, its image and the fleet it joins."""

    group_name: pulumi.Input[str]
    image_id: pulumi.Input[str]
    fleet: pulumi.Input[str]
    launch_template_id: pulumi.Input[str] | None = None
    launch_template_version: pulumi.Input[str] | pulumi.Input[int] | None = None
    launch_configuration_name: pulumi.Input[str] | None = None
    launch_configuration_prefix: str | None = None
    target_group_arns: Sequence[pulumi.Input[str]] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    region: pulumi.Input[str] | None = None
    endpoint_url: str | None = None


class BlueGreenCutover(Resource, module="bakery", name="BlueGreenCutover"):
    """A new group that became the fleet's serving group; the fleet's others retired.

    Outputs: the inputs, plus ``healthy_instances`` (the group's ready instances) and
    ``retired_groups`` (the groups deleted).
    """

    group_name: pulumi.Output[str]
    image_id: pulumi.Output[str]
    launch_template_version: pulumi.Output[str]
    launch_configuration_name: pulumi.Output[str]
    healthy_instances: pulumi.Output[list[str]]
    retired_groups: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        args: BlueGreenCutoverArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        given = args.launch_template_version
        props: dict[str, Any] = {
            "group_name": args.group_name,
            "image_id": args.image_id,
            "fleet": args.fleet,
            "launch_template_id": args.launch_template_id,
            "launch_template_version": None
            if given is None
            else pulumi.Output.from_input(given).apply(version),
            "launch_configuration_name": args.launch_configuration_name,
            "launch_configuration_prefix": args.launch_configuration_prefix,
            "target_group_arns": list(args.target_group_arns),
            "timeout_s": args.timeout_s,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "healthy_instances": None,
            "retired_groups": None,
        }
        super().__init__(BlueGreenCutoverProvider(), resource_name, props, opts)
