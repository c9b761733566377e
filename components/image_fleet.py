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
  image, and only then deletes the fleet's other groups. Groups (and launch
  configurations) are ``retain_on_delete``: the engine would otherwise delete the
  old group at the start of the next ``up`` after a failed cutover, leaving only the
  unhealthy one; the cutover deletes them instead, once it is safe.

``launch="configuration"`` is legacy: AWS accepts no new instance types in launch
configurations since 2023, and accounts created since 1 October 2024 cannot create
launch configurations at all. It works with ``blue_green`` only; configurations are
named by prefix and replaced new-before-old, so no delete meets ResourceInUse.

Bad input raises ``ImageFleetArgsError`` in the constructor, so ``pulumi preview``
fails with every problem named.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from providers.aws.errors import ImageFleetArgsError, InvalidInputError
from providers.rollout import (
    DEFAULT_TIMEOUT_S,
    FLEET_TAG,
    BlueGreenCutover,
    BlueGreenCutoverArgs,
    InstanceRefresh,
    InstanceRefreshArgs,
    preference_problems,
)

LAUNCH_KINDS = ("template", "configuration")
ROLLOUTS = ("rolling", "blue_green")
HEALTH_CHECK_TYPES = ("EC2", "ELB")


@dataclass
class ImageFleetArgs:
    """What the fleet runs, where, how many, and how a new image rolls out."""

    image_id: pulumi.Input[str]
    """The AMI to run: a BakedImage's ``image_id`` or any AMI id."""
    instance_type: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets (one per AZ) the group launches into; at least one."""
    security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    key_name: pulumi.Input[str] | None = None
    iam_instance_profile: pulumi.Input[str] | None = None
    """An instance profile name (or ARN, for launch templates)."""
    user_data: pulumi.Input[str] | None = None
    """Plain text; encoded for the launch template here."""
    min_size: int = 1
    max_size: int = 1
    desired_capacity: int | None = None
    """Defaults to ``min_size``."""
    health_check_type: str = "EC2"
    health_check_grace_period_s: int = 300
    target_group_arns: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    tags: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Tags for the group, propagated to every instance it launches."""
    launch: str = "template"
    """``"template"`` (default) or ``"configuration"``: legacy, and only with
    ``rollout="blue_green"``; accounts created since 1 October 2024 cannot create
    launch configurations, and they take no instance types released since 2023."""
    rollout: str = "rolling"
    """``"rolling"`` (instance refresh) or ``"blue_green"`` (a new group per image)."""
    min_healthy_percentage: int = 90
    instance_warmup_s: int | None = None
    checkpoint_percentages: Sequence[int] = field(default_factory=tuple)
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True
    rollout_timeout_s: float = DEFAULT_TIMEOUT_S
    """How long ``pulumi up`` waits for a rollout before failing (AWS carries on)."""
    region: pulumi.Input[str] | None = None
    """Defaults to the stack's ``aws:region``."""
    endpoint_url: str | None = None
    """A local AWS endpoint for the rollout resources (tests); None for AWS."""


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def check_args(args: ImageFleetArgs) -> list[InvalidInputError]:
    """Every problem with ``args``, each naming the field, what was found and the fix."""
    problems: list[InvalidInputError] = []
    if args.launch not in LAUNCH_KINDS:
        problems.append(
            InvalidInputError(
                "launch", args.launch, 'give "template" (default) or "configuration" (legacy)'
            )
        )
    if args.rollout not in ROLLOUTS:
        problems.append(
            InvalidInputError("rollout", args.rollout, 'give "rolling" (default) or "blue_green"')
        )
    if args.rollout == "rolling" and args.launch == "configuration":
        problems.append(
            InvalidInputError(
                "rollout",
                args.rollout,
                'a rolling instance refresh with auto-rollback needs launch="template"; '
                'with launch="configuration" use rollout="blue_green"',
            )
        )
    for name in ("image_id", "instance_type"):
        if getattr(args, name) is None or _is_blank(getattr(args, name)):
            problems.append(InvalidInputError(name, getattr(args, name), "give a non-empty value"))
    if not isinstance(args.subnet_ids, pulumi.Output) and not list(args.subnet_ids):
        problems.append(
            InvalidInputError(
                "subnet_ids",
                list(args.subnet_ids),
                "give at least one subnet id (one per availability zone) to launch into",
            )
        )
    if args.min_size < 0:
        problems.append(InvalidInputError("min_size", args.min_size, "give 0 or more"))
    if args.min_size > args.max_size:
        problems.append(
            InvalidInputError(
                "min_size",
                args.min_size,
                f"max_size is {args.max_size}; make min_size <= max_size",
            )
        )
    desired = args.desired_capacity
    if desired is not None and not args.min_size <= desired <= args.max_size:
        problems.append(
            InvalidInputError(
                "desired_capacity",
                desired,
                f"give a value within [min_size, max_size] = [{args.min_size}, {args.max_size}]",
            )
        )
    if args.health_check_type not in HEALTH_CHECK_TYPES:
        problems.append(
            InvalidInputError("health_check_type", args.health_check_type, 'give "EC2" or "ELB"')
        )
    if args.health_check_grace_period_s < 0:
        problems.append(
            InvalidInputError(
                "health_check_grace_period_s", args.health_check_grace_period_s, "give 0 or more"
            )
        )
    if args.rollout_timeout_s <= 0:
        problems.append(
            InvalidInputError(
                "rollout_timeout_s", args.rollout_timeout_s, "give seconds above 0 (e.g. 3600)"
            )
        )
    problems += preference_problems(
        min_healthy_percentage=args.min_healthy_percentage,
        instance_warmup_s=args.instance_warmup_s,
        checkpoint_percentages=args.checkpoint_percentages,
        checkpoint_delay_s=args.checkpoint_delay_s,
    )
    return problems


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


class ImageFleet(pulumi.ComponentResource):
    """An Auto Scaling fleet that runs ``image_id`` and rolls every new image out.

    Outputs: ``group_name``, ``group_arn``, ``launch_template_id`` and
    ``launch_template_version`` (None with a launch configuration),
    ``launch_configuration_name`` (None with a template), and ``image_id``, the image
    the fleet runs once the rollout succeeded.
    """

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
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
        fleet = f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
        region = args.region or pulumi.Config("aws").get("region")
        desired = args.desired_capacity if args.desired_capacity is not None else args.min_size

        template: aws.ec2.LaunchTemplate | None = None
        configuration: aws.ec2.LaunchConfiguration | None = None
        version: pulumi.Output[str] | None = None
        lc_prefix = f"{name}-lc-"
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
            template = aws.ec2.LaunchTemplate(
                f"{name}-lt",
                name_prefix=f"{name}-",
                image_id=args.image_id,
                instance_type=args.instance_type,
                key_name=args.key_name,
                vpc_security_group_ids=_listed(args.security_group_ids),
                iam_instance_profile=profile,
                user_data=_encoded(args.user_data),
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(
                        resource_type="volume", tags=dict(args.tags)
                    )
                ]
                if args.tags
                else None,
                tags=dict(args.tags) or None,
                opts=pulumi.ResourceOptions(parent=self),
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
                    parent=self, delete_before_replace=False, retain_on_delete=True
                ),
            )
            group_launch = {"launch_configuration": configuration.name}

        group_tags = [
            aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
            for k, v in sorted(args.tags.items())
        ]
        group_tags.append(
            aws.autoscaling.GroupTagArgs(key=FLEET_TAG, value=fleet, propagate_at_launch=False)
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
            )
        group = aws.autoscaling.Group(
            f"{name}-asg",
            name_prefix=f"{name}-",
            vpc_zone_identifiers=_listed(args.subnet_ids),
            min_size=args.min_size,
            max_size=args.max_size,
            desired_capacity=desired,
            health_check_type=args.health_check_type,
            health_check_grace_period=args.health_check_grace_period_s,
            target_group_arns=_listed(args.target_group_arns),
            tags=group_tags,
            # Bakery's own resources wait (with reasons); the provider's wait would
            # only time out.
            wait_for_capacity_timeout="0",
            opts=group_opts,
            **group_launch,
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
                    min_healthy_percentage=args.min_healthy_percentage,
                    instance_warmup_s=args.instance_warmup_s,
                    checkpoint_percentages=tuple(args.checkpoint_percentages),
                    checkpoint_delay_s=args.checkpoint_delay_s,
                    skip_matching=args.skip_matching,
                    auto_rollback=args.auto_rollback,
                    timeout_s=args.rollout_timeout_s,
                    region=region,
                    endpoint_url=args.endpoint_url,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.group_name = group.name
        self.group_arn = group.arn
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
                "launch_template_id": self.launch_template_id,
                "launch_template_version": self.launch_template_version,
                "launch_configuration_name": self.launch_configuration_name,
                "image_id": self.image_id,
            }
        )
