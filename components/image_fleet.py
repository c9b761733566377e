"""ImageFleet: a launch template (or configuration) and an Auto Scaling group per image.

Every new image reaches the fleet, and ``pulumi up`` returns only once it is served:

* ``rollout="rolling"`` (launch templates only, the default): each image is a new
  launch template version; the group is created on an explicit version number
  (never ``$Latest``/``$Default``), and an ``InstanceRefresh`` resource rolls each
  later version out (min healthy percentage, warmup, checkpoints, skip-matching,
  auto-rollback) and waits. The group's own ``launch_template`` is left to that
  refresh (``ignore_changes``): AWS writes the new version to the group only when
  the refresh succeeds, so a rollback returns to the previous version, not the bad
  one. The group's own ``instance_refresh`` block is not used.
* ``rollout="blue_green"``: a new group per image (a new template version or
  launch configuration replaces the group, new before old); a ``BlueGreenCutover``
  waits until the new group's desired capacity is InService, healthy and on the
  image (in every target group), and only then drains and deletes the fleet's other
  groups. Groups (in both modes) and launch configurations are
  ``retain_on_delete``: the engine would otherwise delete the old group at the start
  of the next ``up`` after a failed cutover, leaving only the unhealthy one; the
  cutover deletes them instead, once it is safe, and the fleet's ``FleetIdentity``
  (created first, so deleted last) drains and deletes what is left on destroy. Its
  unique fleet id is the groups' ``bakery:fleet`` tag and the serving token.

``launch="configuration"`` is legacy: AWS accepts no new instance types in launch
configurations since 2023, and accounts created since 1 October 2024 cannot create
launch configurations at all. It works with ``blue_green`` only; configurations are
named by prefix and replaced new-before-old, so no delete meets ResourceInUse.

Bad input raises ``ImageFleetArgsError`` in the constructor, so ``pulumi preview``
fails with every problem named.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pulumi_aws as aws

from components.image_fleet_args import ImageFleetArgs, check_args
from providers.aws import tags as tag_keys
from providers.aws.errors import ImageFleetArgsError
from providers.aws.rules.fleet import (
    default_health_check_type,
    planned_max_size,
)
from providers.aws.rules.rollout import estimate_rollout
from providers.cutover import BlueGreenCutover, BlueGreenCutoverArgs
from providers.fleet_identity import FleetIdentity, FleetIdentityArgs
from providers.instance_refresh import InstanceRefresh, InstanceRefreshArgs
from providers.kms_grant import KmsGrant, KmsGrantArgs


def _warn_if_timeout_short(args: ImageFleetArgs, name: str) -> None:
    """A preview-time warning when the rollout timeout is shorter than its estimate."""
    estimate = estimate_rollout(
        args.refresh,
        desired=args.planned_desired,
        grace_s=args.health_check_grace_period_s,
        default_instance_warmup_s=args.default_instance_warmup_s,
        blue_green=args.rollout == "blue_green",
    )
    if args.rollout_timeout_s < estimate.seconds:
        pulumi.log.warn(
            f"{name}: rollout_timeout_s is {args.rollout_timeout_s:.0f}s but a rollout of "
            f"{args.planned_desired} instance(s) is estimated at {estimate}; `pulumi up` "
            "would fail while AWS carries on: raise rollout_timeout_s"
        )


def _metadata_options(tokens: str | None, adopted: pulumi.Output[bool]) -> Any:
    """IMDSv2 required unless asked otherwise; an adopted fleet keeps what it had."""

    def options(was_adopted: bool) -> Any:
        if tokens is None and was_adopted:
            return None
        return aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens=tokens or "required"
        )

    return adopted.apply(options)


def _listed(values: Any) -> Any:
    """A list of inputs as given (an Output stays one); None when empty."""
    if isinstance(values, pulumi.Output):
        return values
    return list(values) or None


def _encoded(user_data: Any) -> Any:
    """User data as a launch template wants it: base64 (a configuration takes it plain)."""
    if user_data is None:
        return None
    return pulumi.Output.from_input(user_data).apply(
        lambda text: base64.b64encode(str(text).encode()).decode()
    )


def _kms_grant(
    name: str, args: ImageFleetArgs, region: Any, parent: pulumi.Resource
) -> list[pulumi.Resource]:
    """With ``create_kms_grant``: the KmsGrant the launch template depends on."""
    if not args.create_kms_grant:
        return []
    grant = KmsGrant(
        f"{name}-kms-grant",
        KmsGrantArgs(
            image_id=args.image_id,
            name=f"bakery-{pulumi.get_project()}-{pulumi.get_stack()}-{name}"[:256],
            service_linked_role_arn=args.group_args.get("service_linked_role_arn"),
            region=region,
            endpoint_url=args.endpoint_url,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return [grant]


class ImageFleet(pulumi.ComponentResource):
    """An Auto Scaling fleet that runs ``image_id`` and rolls every new image out.

    Outputs: ``group_name``, ``group_arn``, ``fleet_id``, ``launch_template_id`` and
    ``launch_template_version`` (None with a launch configuration),
    ``launch_configuration_name`` (None with a template), and ``image_id``, the image
    the fleet runs once the rollout succeeded.
    """

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    fleet_id: pulumi.Output[str]
    launch_template_id: pulumi.Output[str | None]
    launch_template_version: pulumi.Output[str | None]
    launch_configuration_name: pulumi.Output[str | None]
    image_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ImageFleetArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = check_args(args)
        if problems:
            raise ImageFleetArgsError(problems)
        super().__init__("bakery:index:ImageFleet", resource_name, None, opts)
        name = resource_name
        blue_green = args.rollout == "blue_green"
        region = args.region or pulumi.Config("aws").get("region")
        desired = args.planned_desired
        max_size = planned_max_size(
            args.min_size, args.max_size, desired, args.rollout, args.refresh
        )
        health_check_type = args.health_check_type or default_health_check_type(
            bool(args.target_group_arns)
        )
        _warn_if_timeout_short(args, name)
        lc_prefix = f"{name}-lc-"
        # Created before the groups, so destroyed after them: its delete retires
        # whatever group of the fleet is left (a failed first cutover's).
        identity = FleetIdentity(
            f"{name}-fleet",
            FleetIdentityArgs(
                legacy_key=f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
                launch_configuration_prefix=lc_prefix if args.launch == "configuration" else None,
                region=region,
                endpoint_url=args.endpoint_url,
                image_id=args.image_id,
                service_linked_role_arn=args.group_args.get("service_linked_role_arn"),
                create_kms_grant=args.create_kms_grant,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        fleet = identity.fleet_id
        # The grant exists before the launch template names an image that needs it.
        key_grants = _kms_grant(name, args, region, self)

        template: aws.ec2.LaunchTemplate | None = None
        configuration: aws.ec2.LaunchConfiguration | None = None
        version: pulumi.Output[str] | None = None
        group_launch: dict[str, Any]
        if args.launch == "template":
            profile = None
            if isinstance(args.iam_instance_profile, str) and args.iam_instance_profile.startswith(
                "arn:"
            ):
                profile = aws.ec2.LaunchTemplateIamInstanceProfileArgs(
                    arn=args.iam_instance_profile
                )
            elif args.iam_instance_profile is not None:
                profile = aws.ec2.LaunchTemplateIamInstanceProfileArgs(
                    name=args.iam_instance_profile
                )
            template_args: dict[str, Any] = {
                "name_prefix": f"{name}-",
                "image_id": args.image_id,
                # Each new version (one per image) becomes the default: the group pins
                # explicit versions, and a default left on version 1 would name the first
                # image forever, so the in-use guard could never prune it.
                "update_default_version": True,
                "instance_type": args.instance_type,
                "key_name": args.key_name,
                "vpc_security_group_ids": _listed(args.security_group_ids),
                "iam_instance_profile": profile,
                "user_data": _encoded(args.user_data),
                "metadata_options": _metadata_options(args.metadata_http_tokens, identity.adopted),
                "tag_specifications": [
                    aws.ec2.LaunchTemplateTagSpecificationArgs(
                        resource_type="volume", tags=dict(args.tags)
                    )
                ]
                if args.tags
                else None,
                "tags": dict(args.tags) or None,
            }
            template = aws.ec2.LaunchTemplate(
                f"{name}-lt",
                **{**template_args, **args.launch_template_args},
                opts=pulumi.ResourceOptions(parent=self, depends_on=key_grants),
            )
            # An explicit number: a new version changes the reference (refresh starts),
            # and auto-rollback is possible (not with $Latest/$Default).
            version = template.latest_version.apply(lambda v: str(int(v)))
            group_launch = {
                "launch_template": aws.autoscaling.GroupLaunchTemplateArgs(
                    id=template.id, version=version
                )
            }
        else:
            configuration = aws.ec2.LaunchConfiguration(
                f"{name}-lc",
                name_prefix=lc_prefix,
                image_id=args.image_id,
                instance_type=args.instance_type,
                key_name=args.key_name,
                security_groups=_listed(args.security_group_ids),
                iam_instance_profile=args.iam_instance_profile,
                user_data=args.user_data,
                # Launch configurations are immutable: every change replaces, new first.
                # The engine must not delete the old one (its group may still serve);
                # the cutover deletes it after the group that used it.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    delete_before_replace=False,
                    retain_on_delete=True,
                    depends_on=key_grants,
                ),
            )
            group_launch = {"launch_configuration": configuration.name}

        group_tags = [
            aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
            for k, v in sorted(args.tags.items())
        ]
        group_tags.append(
            aws.autoscaling.GroupTagArgs(key=tag_keys.FLEET, value=fleet, propagate_at_launch=False)
        )
        if blue_green:
            group_opts = pulumi.ResourceOptions(
                parent=self,
                # A new image is a new template version or configuration: a new group,
                # created before the old one goes.
                replace_on_changes=["launchTemplate", "launchConfiguration"],
                delete_before_replace=False,
                retain_on_delete=True,
            )
        else:
            group_opts = pulumi.ResourceOptions(
                parent=self,
                # The InstanceRefresh moves the group to each new version (AWS writes it
                # on success); Pulumi must not move it first.
                ignore_changes=["launchTemplate"],
                # As in blue_green: a group that serves is never deleted by the engine
                # (a switch to blue_green with a new image replaces it, and a failed
                # cutover would otherwise see it deleted at the next `up`); the
                # FleetIdentity drains and deletes the fleet's groups on destroy.
                retain_on_delete=True,
            )
        group_kwargs: dict[str, Any] = {
            "name_prefix": f"{name}-",
            "vpc_zone_identifiers": _listed(args.subnet_ids),
            "min_size": args.min_size,
            "max_size": max_size,
            "desired_capacity": desired,
            "health_check_type": health_check_type,
            "health_check_grace_period": args.health_check_grace_period_s,
            "target_group_arns": _listed(args.target_group_arns),
            "tags": group_tags,
            # Bakery's own resources wait (with reasons); the provider's wait would
            # only time out.
            "wait_for_capacity_timeout": "0",
            **group_launch,
        }
        if args.default_instance_warmup_s is not None:
            group_kwargs["default_instance_warmup"] = args.default_instance_warmup_s
        group = aws.autoscaling.Group(
            f"{name}-asg", **{**group_kwargs, **args.group_args}, opts=group_opts
        )

        rolled: InstanceRefresh | BlueGreenCutover
        if blue_green:
            rolled = BlueGreenCutover(
                f"{name}-cutover",
                BlueGreenCutoverArgs(
                    group_name=group.name,
                    image_id=args.image_id,
                    fleet=fleet,
                    launch_template_id=template.id if template else None,
                    launch_template_version=version,
                    launch_configuration_name=configuration.name if configuration else None,
                    launch_configuration_prefix=lc_prefix if configuration else None,
                    target_group_arns=list(args.target_group_arns),
                    timeout_s=args.rollout_timeout_s,
                    region=region,
                    endpoint_url=args.endpoint_url,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            assert template is not None and version is not None
            rolled = InstanceRefresh(
                f"{name}-rollout",
                InstanceRefreshArgs(
                    group_name=group.name,
                    launch_template_id=template.id,
                    launch_template_version=version,
                    image_id=args.image_id,
                    preferences=args.refresh,
                    desired_capacity=desired,
                    max_size=max_size,
                    target_group_arns=list(args.target_group_arns),
                    timeout_s=args.rollout_timeout_s,
                    region=region,
                    endpoint_url=args.endpoint_url,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.group_name = group.name
        self.group_arn = group.arn
        self.fleet_id = fleet
        self.launch_template_id = template.id if template else pulumi.Output.from_input(None)
        self.launch_template_version = (
            rolled.launch_template_version if template else pulumi.Output.from_input(None)
        )
        self.launch_configuration_name = (
            configuration.name if configuration else pulumi.Output.from_input(None)
        )
        self.image_id = rolled.image_id
        self.register_outputs(
            {
                "group_name": self.group_name,
                "group_arn": self.group_arn,
                "fleet_id": self.fleet_id,
                "launch_template_id": self.launch_template_id,
                "launch_template_version": self.launch_template_version,
                "launch_configuration_name": self.launch_configuration_name,
                "image_id": self.image_id,
            }
        )
