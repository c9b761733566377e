"""Bakery's program: bake (or promote) a golden image, then roll it out to a fleet.

Config (stack_config/, README "Config reference") decides the shape:

    bakery:bake.*          -> BakedImage "image"           (the AMI, baked here)
    bakery:promote.*       -> PromotedImage "image"        (another stack's AMI; copy, share)
    bakery:mode: fleet     -> ImageFleet "fleet"           (launch template + Auto Scaling group)

Bake-only mode creates no ``aws:*`` resource unless the image is shared or copied.
"""

from __future__ import annotations

import pulumi

import stack_config
from components.image_fleet import ImageFleet, ImageFleetArgs
from components.promoted_image import PromotedImage, PromotedImageArgs
from providers.aws.errors import StackConfigError
from providers.baked_image import BakedImage, BakedImageArgs

try:
    config = stack_config.from_pulumi()
except StackConfigError as exc:
    # A RunError is shown as its message alone: the list of keys to fix.
    raise pulumi.RunError(str(exc)) from exc

promotion = config.promotion
image_id: pulumi.Output[str]
snapshot_ids: pulumi.Output[list[str]]
if config.bake is not None:
    bake = config.bake
    baked = BakedImage(
        "image",
        BakedImageArgs(
            instance_id=bake.instance_id,
            name=bake.name,
            description=bake.description,
            triggers=list(bake.triggers),
            consistency=bake.consistency,
            restore_state=bake.restore_state,
            allow_instance_store_loss=bake.allow_instance_store_loss,
            tags=dict(bake.tags),
            region=config.region,
            endpoint_url=bake.endpoint_url,
            keep_previous=bake.keep_previous,
            retain_on_delete=bake.retain_on_delete,
            timeouts=dict(bake.timeouts) or None,
            deprecate_after_days=bake.deprecate_after_days,
            deregistration_protection=bake.deregistration_protection,
            deregistration_protection_cooldown=bake.deregistration_protection_cooldown,
            share_with_accounts=list(bake.share_with_accounts),
            share_with_organizations=list(bake.share_with_organizations),
            share_with_organizational_units=list(bake.share_with_organizational_units),
            copy_to_regions=dict(bake.copy_to_regions),
            snapshot_tags=dict(bake.snapshot_tags),
            prune_shared=bake.prune_shared,
            keep_launched_within_days=bake.keep_launched_within_days,
            reencrypt_with=bake.reencrypt_with,
            patch=bake.patch,
            rebake_on=list(bake.rebake_on) or None,
            prepare=bake.prepare,
            restore=bake.restore,
            verify=bake.verify,
        ),
    )
    image_id, snapshot_ids = baked.image_id, baked.snapshot_ids
    pulumi.export("source_instance_id", baked.source_instance_id)
    pulumi.export("downtime_seconds", baked.downtime_seconds)
    pulumi.export("image_ids", baked.image_ids)
    if promotion.share_with_accounts:
        PromotedImage(
            "image",
            PromotedImageArgs(
                image_id=image_id,
                snapshot_ids=snapshot_ids,
                share_with_accounts=promotion.share_with_accounts,
            ),
        )
else:
    promoted = PromotedImage(
        "image",
        PromotedImageArgs(
            from_stack=promotion.from_stack,
            source_region=promotion.source_region,
            region=config.region,
            copy=promotion.copy,
            kms_key_id=promotion.kms_key_id,
            share_with_accounts=promotion.share_with_accounts,
        ),
    )
    image_id, snapshot_ids = promoted.image_id, promoted.snapshot_ids
    pulumi.export("promoted_from", promotion.from_stack)
    pulumi.export("source_image_id", promoted.source_image_id)

pulumi.export("image_id", image_id)
pulumi.export("snapshot_ids", snapshot_ids)
pulumi.export("region", config.region)

if config.fleet is not None:
    fleet_args = dict(vars(config.fleet))
    if "fleet.user_data" in config.secret_keys and config.fleet.user_data is not None:
        fleet_args["user_data"] = pulumi.Output.secret(config.fleet.user_data)
    fleet = ImageFleet(
        "fleet", ImageFleetArgs(image_id=image_id, region=config.region, **fleet_args)
    )
    pulumi.export("group_name", fleet.group_name)
    pulumi.export("launch_template_id", fleet.launch_template_id)
    pulumi.export("launch_template_version", fleet.launch_template_version)
    pulumi.export("launch_configuration_name", fleet.launch_configuration_name)
    pulumi.export("fleet_image_id", fleet.image_id)
