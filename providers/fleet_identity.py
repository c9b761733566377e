"""FleetIdentity: a fleet's unique id, made once and kept in the Pulumi state.

Every group of a fleet carries ``bakery:fleet`` = this id, and a cutover's serving
token is this id, so two stacks that share project, stack and resource names never
touch each other's groups, and renaming the stack changes nothing (the id stays in
the state). The component creates it before the groups, so ``destroy`` deletes it
after them: its ``delete`` drains and deletes every group of the id that is left,
such as the group a failed first blue/green cutover retained.

The id is made in ``check`` (random, ``<project>/<stack>/<name>#<12 hex>``) and kept
from the old inputs ever after. A fleet that an earlier Bakery made (groups tagged
with the bare ``<project>/<stack>/<name>``) is adopted under that id instead, so its
groups and cutover see no change (``adopted`` is then True).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from providers import fleet_base
from providers.aws.bake.reachability import aws_call_errors
from providers.aws.fleet import cutover
from providers.aws.images import key_checks, keys
from providers.dynamic_props import UNKNOWN, known, progress
from providers.fleet_base import FleetProvider, required

IDENTITY_INPUTS = ("launch_configuration_prefix", "region", "endpoint_url")


class FleetIdentityProvider(FleetProvider):
    """Makes the fleet id once; on delete retires every group of the fleet.

    Pulumi contract: ``check`` fills ``fleet_id`` (kept from the old inputs, else an
    earlier Bakery's id when its groups exist, else a new random one) and
    ``adopted``; nothing ever replaces it (a new id would orphan the groups);
    ``create``/``update`` touch no AWS resource; ``delete`` drains and deletes every
    group tagged with the id; ``read`` keeps it while the state has it.
    """

    INPUTS = IDENTITY_INPUTS
    REPLACE_KEYS = ()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Keep the fleet id of the old inputs, or adopt or make one (see the module)."""
        inputs = dict(news)
        failures = required(inputs, ("legacy_key",))
        failures += self._key_failures(olds, inputs)
        if olds.get("fleet_id"):
            inputs["fleet_id"] = olds["fleet_id"]
            inputs["adopted"] = bool(olds.get("adopted"))
            return CheckResult(inputs, failures)
        legacy = inputs.get("legacy_key")
        if failures or not known(legacy) or inputs.get("region") == UNKNOWN:
            return CheckResult(inputs, failures)  # decided once the values are known
        (autoscaling,) = fleet_base.clients(inputs, self.default_region, "autoscaling")
        try:
            adopted = cutover.fleet_exists(autoscaling, str(legacy))
        except Exception as exc:  # any failure to look is reported, not raised
            return CheckResult(
                inputs,
                [
                    CheckFailure(
                        "legacy_key",
                        f"could not look for groups of an existing fleet {legacy!r} "
                        f"(DescribeAutoScalingGroups): {exc}; check credentials and region",
                    )
                ],
            )
        inputs["adopted"] = adopted
        inputs["fleet_id"] = str(legacy) if adopted else f"{legacy}#{secrets.token_hex(6)}"
        return CheckResult(inputs, failures)

    def _key_failures(self, olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
        """The Auto Scaling role may use the image's customer managed keys (or
        ``create_kms_grant`` will grant it): checked when the image is known and new."""
        image_id = news.get("image_id")
        if not known(image_id) or news.get("create_kms_grant") or olds.get("image_id") == image_id:
            return []
        if news.get("region") == UNKNOWN or news.get("service_linked_role_arn") == UNKNOWN:
            return []
        try:
            ec2, kms, sts = fleet_base.clients(news, self.default_region, "ec2", "kms", "sts")
            image_keys = keys.image_keys(ec2, kms, str(image_id))
            if not any(k.customer_managed for k in image_keys):
                return []
            role = keys.autoscaling_role(
                keys.caller_account(sts), news.get("service_linked_role_arn")
            )
            report = key_checks.check_role_keys(kms, image_keys, role)
        except aws_call_errors() as exc:
            progress(f"could not check the keys of {image_id} for Auto Scaling ({exc})")
            return []
        for warning in report.warnings:
            progress(warning)
        return fleet_base.as_failures(report.problems)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Record the id; nothing is created in AWS."""
        return CreateResult(str(props["fleet_id"]), _outs(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Record the new settings; the id never changes."""
        return UpdateResult({**_outs(news), "fleet_id": olds.get("fleet_id") or news["fleet_id"]})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs (the id lives in the state, not in AWS)."""
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Drain and delete every group of the fleet id (destroy, or fleet removed)."""
        (autoscaling,) = fleet_base.clients(props, self.default_region, "autoscaling")
        cutover.retire_fleet(
            autoscaling,
            str(props["fleet_id"]),
            launch_configuration_prefix=props.get("launch_configuration_prefix"),
            pacing=fleet_base.PACING,
            log=progress,
        )


def _outs(props: dict[str, Any]) -> dict[str, Any]:
    names = ("legacy_key", "fleet_id", "adopted", *IDENTITY_INPUTS)
    checked = ("image_id", "service_linked_role_arn", "create_kms_grant")
    return {**{k: props.get(k) for k in names}, **{k: props[k] for k in checked if k in props}}


@dataclass
class FleetIdentityArgs:
    """Inputs of a FleetIdentity: the fleet's readable key, and where its groups live."""

    legacy_key: str
    """``<project>/<stack>/<name>``: the id's readable part, and an earlier Bakery's id."""
    launch_configuration_prefix: str | None = None
    region: pulumi.Input[str] | None = None
    endpoint_url: str | None = None
    image_id: pulumi.Input[str] | None = None
    """The image the fleet runs: check refuses one whose customer managed key the Auto
    Scaling role may not use (unless ``create_kms_grant``). Not a change when it changes."""
    service_linked_role_arn: pulumi.Input[str] | None = None
    create_kms_grant: bool = False


class FleetIdentity(Resource, module="bakery", name="FleetIdentity"):
    """A fleet's unique id (``fleet_id``), and whether an earlier fleet was adopted."""

    fleet_id: pulumi.Output[str]
    adopted: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        args: FleetIdentityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "legacy_key": args.legacy_key,
            "launch_configuration_prefix": args.launch_configuration_prefix,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "fleet_id": None,
            "adopted": None,
        }
        if args.image_id is not None:  # absent in older states: checked once, then kept
            props.update(
                image_id=args.image_id,
                service_linked_role_arn=args.service_linked_role_arn,
                create_kms_grant=args.create_kms_grant,
            )
        super().__init__(FleetIdentityProvider(), resource_name, props, opts)
