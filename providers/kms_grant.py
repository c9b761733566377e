"""KmsGrant: the grant that lets a fleet's Auto Scaling role use its image's keys.

Auto Scaling launches with its service-linked role, which may use a customer managed
key only through a key policy statement or a grant created from the group's account
(knowledge center "kms-launch-ec2-instance"). An ImageFleet with
``create_kms_grant: true`` registers one KmsGrant, on which its launch template
depends, so every grant exists before the template names a new image.

Pulumi contract: ``check`` passes values through; ``create`` grants the role the
operations Auto Scaling needs on each customer managed key of the image (a grant of
the same name is adopted, so a retry makes none twice); ``update`` (a new image) adds
the grants of its keys and keeps the others (a rollback may need them); ``delete``
retires every grant it made; ``read`` keeps the recorded outputs. The workflow is
``providers/aws/images/keys.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, ReadResult, Resource, UpdateResult

from providers import fleet_base
from providers.aws.images import keys
from providers.dynamic_props import progress
from providers.fleet_base import FleetProvider

GRANT_INPUTS = ("image_id", "service_linked_role_arn", "region", "endpoint_url")


def _role(props: dict[str, Any], sts: Any) -> str:
    return keys.autoscaling_role(keys.caller_account(sts), props.get("service_linked_role_arn"))


class KmsGrantProvider(FleetProvider):
    """Grants the fleet's Auto Scaling role its image's customer managed keys."""

    INPUTS = ("image_id", "service_linked_role_arn")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """The inputs as given (the key check itself is FleetIdentity's)."""
        return CheckResult(dict(news), [])

    def _grant(self, props: dict[str, Any], held: dict[str, str]) -> dict[str, Any]:
        ec2, kms, sts = fleet_base.clients(props, self.default_region, "ec2", "kms", "sts")
        role = _role(props, sts)
        made = keys.grant_image_keys(ec2, kms, str(props["image_id"]), role, str(props["name"]))
        for key_arn in sorted(set(made) - set(held)):
            progress(f"granted {role} the use of {key_arn}")
        return {**{k: props.get(k) for k in (*GRANT_INPUTS, "name")}, "grants": {**held, **made}}

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Create (or adopt) the grants; the id is the grant name."""
        return CreateResult(str(props["name"]), self._grant(props, {}))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Grant the new image's keys too; earlier grants stay for a rollback."""
        return UpdateResult(self._grant(news, dict(olds.get("grants") or {})))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs (grants are retired only by ``delete``)."""
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Retire every grant made (one already gone counts as retired)."""
        (kms,) = fleet_base.clients(props, self.default_region, "kms")
        for key_arn, grant_id in sorted((props.get("grants") or {}).items()):
            keys.retire_grant(kms, key_arn, grant_id)


@dataclass
class KmsGrantArgs:
    """The image whose keys the fleet's role must use, and that role."""

    image_id: pulumi.Input[str]
    name: str
    """The grant name (``bakery-<fleet>``): a retry adopts the grant of this name."""
    service_linked_role_arn: pulumi.Input[str] | None = None
    """The group's role; None: the account's ``AWSServiceRoleForAutoScaling``."""
    region: pulumi.Input[str] | None = None
    endpoint_url: str | None = None


class KmsGrant(Resource, module="bakery", name="KmsGrant"):
    """Grants on the image's customer managed keys to the fleet's Auto Scaling role."""

    grants: pulumi.Output[dict[str, str]]

    def __init__(
        self, resource_name: str, args: KmsGrantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "image_id": args.image_id,
            "name": args.name,
            "service_linked_role_arn": args.service_linked_role_arn,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "grants": None,
        }
        super().__init__(KmsGrantProvider(), resource_name, props, opts)
