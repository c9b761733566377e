"""BakedImage: a Pulumi dynamic resource for "an AMI baked from this instance".

The provider adapts ``providers.aws.bake.baked_image`` to Pulumi's contract: props in,
a bake request to the workflow, its result out as outputs. It holds no clients
and no credentials (Pulumi pickles it into the state); each method builds the
clients it needs from the standard boto3 credential chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers import bake_cycle, image_keys, lifecycle
from providers.aws.bake.baked_image import (
    BakedImageInfo,
    BakeRequest,
    bake_image,
    check_bake,
    describe_baked_image,
    find_instance,
    update_baked_image,
)
from providers.aws.bake.preflight import PreflightRequest, preflight_bake
from providers.aws.bake.reachability import aws_call_errors, aws_problem, first_read
from providers.aws.clients import Clients, default_region
from providers.aws.concurrent_reads import read_all
from providers.aws.errors import InvalidInputError
from providers.aws.rules import validation
from providers.aws.rules.bake_plan import (
    BAKE_ID,
    IMAGE_NAME,
    PATCH_STATE,
    USER_NAMED,
    bake_id_of,
    consistency_of,
    image_name_of,
    plan_bake,
)
from providers.baked_image_args import BakedImageArgs
from providers.dynamic_props import UNKNOWN, own_provider, progress, same

__all__ = ["USER_NAMED", "BakedImage", "BakedImageArgs", "BakedImageProvider"]

DEFAULTS: dict[str, Any] = {
    "description": "",
    "triggers": [],
    "restore_state": True,
    "tags": {},
    "keep_previous": 1,
    "retain_on_delete": False,
    "timeouts": {},
    "allow_instance_store_loss": False,
    **lifecycle.DEFAULTS,
}
# Inputs whose change needs a new image (Pulumi replaces: new image first, old after);
# the derived bake id and AMI name are compared too (``_replaces``).
REPLACE_KEYS = ("instance_id", "triggers", "region", "endpoint_url", "lineage")
# Inputs AWS (or Bakery alone) can change in place; ``consistency`` only changes how
# a later bake runs (compared through ``consistency_of``, so ``stop_instance`` in old
# state equals its consistency).
UPDATE_KEYS = (
    "description",
    "tags",
    "keep_previous",
    "retain_on_delete",
    "restore_state",
    "timeouts",
    "allow_instance_store_loss",
    *lifecycle.UPDATE_KEYS,
    # How later bakes run; ``rebake_on``'s effect is the patch state in the bake id.
    *bake_cycle.CYCLE_KEYS,
)
# Keys the plan needs known before it can derive the bake id.
PLAN_KEYS = ("instance_id", "name", "triggers", "region", "endpoint_url")
OUTPUT_KEYS = (
    "image_id",
    "snapshot_ids",
    "root_device_name",
    "architecture",
    "source_instance_id",
    "created_at",
    "downtime_seconds",
    *lifecycle.OUTPUT_KEYS,
    *image_keys.OUTPUT_KEYS,
    "bake_id",
)


def _known(value: Any) -> bool:
    """Known now; None counts (an unset optional input is known to be unset)."""
    return value != UNKNOWN


def _unset(value: Any) -> bool:
    return value is None or value == UNKNOWN


def _old(olds: Mapping[str, Any], key: str) -> Any:
    """An old output; a key a state from older code lacks had its default then."""
    return olds[key] if key in olds else DEFAULTS.get(key)


def _log(props: Mapping[str, Any], message: str) -> None:
    progress(f"{props.get('lineage', '?')}: {message}")


def _request(props: Mapping[str, Any]) -> BakeRequest:
    return BakeRequest(
        instance_id=props["instance_id"],
        name=str(image_name_of(props)),
        bake_id=str(bake_id_of(props)),
        lineage=props["lineage"],
        description=props.get("description") or "",
        tags=dict(props.get("tags") or {}),
        consistency=consistency_of(props),
        restore_state=bool(props.get("restore_state", True)),
        timeouts_min=dict(props.get("timeouts") or {}),
        **bake_cycle.request_specs(props),
    )


def _outputs(info: BakedImageInfo) -> dict[str, Any]:
    return {
        "image_id": info.image_id,
        "snapshot_ids": list(info.snapshot_ids),
        "name": info.name,
        "root_device_name": info.root_device_name,
        "architecture": info.architecture,
        "source_instance_id": info.source_instance_id,
        "created_at": info.created_at,
        "downtime_seconds": info.downtime_seconds,
        BAKE_ID: info.bake_id,
        IMAGE_NAME: info.name,
    }


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """Props without the engine's own keys and without outputs."""
    return {k: v for k, v in props.items() if not k.startswith("__") and k not in OUTPUT_KEYS}


def _kept_bookkeeping(props: Mapping[str, Any]) -> dict[str, Any]:
    """The derived keys of stored props, in the current form."""
    kept = {
        BAKE_ID: bake_id_of(props),
        IMAGE_NAME: image_name_of(props),
        USER_NAMED: bool(props.get(USER_NAMED)),
    }
    if props.get(PATCH_STATE):
        kept[PATCH_STATE] = props[PATCH_STATE]
    return kept


class BakedImageProvider(ResourceProvider):
    """CRUD for BakedImage. Pickled into state: plain data only, no clients."""

    # Nothing secret is captured, so the pickled provider need not be a secret.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self.default_region: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """Take ``aws:region`` from the stack config as the default region."""
        self.default_region = req.config.get("aws:region")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every input (one failure per bad field), fill defaults, derive
        ``region``, ``consistency`` and (in ``__`` keys the CLI does not show) the bake
        id and AMI name. Reads AWS only when a bake will happen, never changes it."""
        inputs = {k: v for k, v in news.items() if k not in OUTPUT_KEYS and k != IMAGE_NAME}
        for key, default in DEFAULTS.items():
            if inputs.get(key) is None:
                inputs[key] = default
        if inputs.get("region") is None:
            inputs["region"] = default_region(self.default_region)
        problems = self._check_fields(inputs)
        user_named = not _unset(inputs.get("name"))
        if not problems and all(_known(inputs.get(k)) for k in PLAN_KEYS):
            # Check's reads: short timeouts, so unreachable AWS fails fast.
            reads = Clients.for_props(inputs, purpose="check")
            problems += self._read_fingerprint(reads, inputs)
            plan = plan_bake(olds, inputs)
            problems += plan.problems
            for note in plan.notes:
                _log(inputs, note)
            inputs["consistency"] = plan.consistency
            inputs[BAKE_ID], inputs[IMAGE_NAME] = plan.bake_id, plan.image_name
            if plan.rebake and not problems:
                problems += self._check_aws(reads, inputs)
            # Keys are read only for well-formed sharing inputs (one failure per field).
            if not problems and not lifecycle.check_inputs(inputs, olds):
                log = lambda m: _log(inputs, m)  # noqa: E731
                problems += image_keys.check_keys(reads, inputs, olds, rebake=plan.rebake, log=log)
        else:
            inputs[BAKE_ID] = UNKNOWN
            inputs[IMAGE_NAME] = inputs.get("name") if user_named else UNKNOWN
            if not problems:
                inputs["consistency"] = consistency_of(inputs)
        problems += lifecycle.check_inputs(inputs, olds) + image_keys.check_inputs(inputs)
        inputs[USER_NAMED] = user_named
        return CheckResult(inputs, [CheckFailure(p.field, str(p)) for p in problems])

    @staticmethod
    def _check_fields(inputs: Mapping[str, Any]) -> list[InvalidInputError]:
        def known(key: str) -> bool:
            return _known(inputs.get(key))

        problems: list[InvalidInputError] = []
        if _unset(inputs.get("instance_id")) and known("instance_id"):
            problems.append(
                InvalidInputError("instance_id", None, "required: the golden instance's id")
            )
        elif known("instance_id"):
            problems += validation.check_instance_id(inputs["instance_id"])
        if not _unset(inputs.get("name")):
            problems += validation.check_image_name(inputs["name"])
        rules = [
            ("description", validation.check_description),
            ("triggers", validation.check_triggers),
            ("tags", validation.check_tags),
            ("region", validation.check_region),
            ("endpoint_url", validation.check_endpoint_url),
            ("timeouts", validation.check_timeouts),
        ]
        for key, rule in rules:
            if known(key):
                problems += rule(inputs.get(key), key)
        for flag in ("restore_state", "retain_on_delete", "allow_instance_store_loss"):
            if known(flag):
                problems += validation.check_bool(inputs.get(flag), flag)
        if known("keep_previous"):
            problems += validation.check_count(inputs.get("keep_previous"), "keep_previous")
        return problems + bake_cycle.check_inputs(inputs, known)

    @staticmethod
    def _read_fingerprint(reads: Clients, inputs: dict[str, Any]) -> list[InvalidInputError]:
        """``rebake_on: [patch_state]``: the instance's patch state, read-only."""
        try:
            return bake_cycle.read_fingerprint(reads, inputs)
        except aws_call_errors() as exc:
            return [aws_problem(exc, reads.ec2, inputs.get("endpoint_url"))]

    @staticmethod
    def _check_aws(reads: Clients, inputs: Mapping[str, Any]) -> list[InvalidInputError]:
        """The instance exists and is bakeable as asked, and the name is free (read-only).

        Unreachable AWS, missing credentials or refused access fail the check in seconds
        (a preview that cannot read AWS proves nothing). When the bake may go ahead, a
        line says what it will do to the instance (``will stop i-…``)."""
        ec2 = reads.ec2
        try:
            # Read once, for both; as the probe, so unreachable AWS fails within ~3 s.
            instance = first_read(
                reads, lambda client: find_instance(client, inputs["instance_id"])
            )
            if instance is None:
                return check_bake(ec2, _request(inputs), instance=None)
            autoscaling = reads.autoscaling  # built before the reads run at once
            request = PreflightRequest(
                instance_id=inputs["instance_id"],
                bake_id=str(bake_id_of(inputs)),
                consistency=consistency_of(inputs),
                allow_instance_store_loss=bool(inputs.get("allow_instance_store_loss")),
            )
            # The rest at once: the engine checks one resource at a time (docs/bake.md).
            found, report, (problems, step_notes) = read_all(
                lambda: check_bake(ec2, _request(inputs), instance=instance),
                lambda: preflight_bake(ec2, autoscaling, request, instance=instance),
                lambda: bake_cycle.check_aws(reads, inputs),
            )
            if found:
                return found
        except aws_call_errors() as exc:
            return [aws_problem(exc, ec2, inputs.get("endpoint_url"))]
        for note in report.notes:
            _log(inputs, note)
        if not report.problems and not problems:
            for line in (report.plan, *step_notes):
                _log(inputs, line)
        return list(report.problems) + problems

    @staticmethod
    def _replaces(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Inputs (and derived keys) whose change needs a new image; ``olds`` may be
        state written by an earlier Bakery (``bake_id``/``name`` instead of ``__`` keys)."""
        replaces = [k for k in REPLACE_KEYS if not same(olds.get(k), news.get(k))]
        if bake_id_of(olds) != bake_id_of(news):
            replaces.append(BAKE_ID)
        if image_name_of(olds) != image_name_of(news):
            replaces.append("name" if news.get(USER_NAMED) else IMAGE_NAME)
        return replaces

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on what needs a new image; update in place what AWS can change.

        ``olds`` are the old outputs. A replacement creates the new image before
        the old one is released (delete_before_replace=False)."""
        replaces = self._replaces(olds, news)
        updates = [k for k in UPDATE_KEYS if not same(_old(olds, k), news.get(k))]
        if consistency_of(olds) != consistency_of(news):
            updates.append("consistency")
        if replaces:
            why = ", ".join(k for k in replaces if not k.startswith("__")) or (
                bake_cycle.rebake_reason(olds, news) or "the bake id"
            )
            _log(news, f"re-bake of {news.get('instance_id')} because {why} changed")
        return DiffResult(
            changes=bool(replaces or updates),
            replaces=replaces,
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Bake (or adopt the interrupted bake of the same bake id) and report outputs."""
        clients = Clients.for_props(props)
        ssm = clients.client("ssm") if bake_cycle.uses_ssm(props) else None
        info = bake_image(clients.ec2, _request(props), log=lambda m: _log(props, m), ssm=ssm)
        info = image_keys.reencrypted(clients, props, info, lambda m: _log(props, m))
        _log(props, f"baked {info.image_id}; instance down {info.downtime_seconds:.0f}s")
        outs = {**_inputs_of(props), **_outputs(info), USER_NAMED: bool(props.get(USER_NAMED))}
        outs.update(lifecycle.apply(info.image_id, outs, lambda m: _log(props, m)))
        outs.update(image_keys.key_ids(clients, outs["image_ids"]))
        outs.update(bake_cycle.recorded_patch_state(clients, props))
        return CreateResult(info.image_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Report a deregistered image as gone (empty id); pick up tag and description drift."""
        info = describe_baked_image(Clients.for_props(props).ec2, id_)
        if info is None:
            return ReadResult("", {})
        outs = {**_inputs_of(props), **_kept_bookkeeping(props), **_outputs(info)}
        outs[BAKE_ID] = bake_id_of(props) or info.bake_id
        outs.update({k: props[k] for k in lifecycle.OUTPUT_KEYS if k in props})
        outs["tags"] = info.user_tags
        outs["description"] = info.description
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply tag and description changes to the image and its snapshots."""
        image = update_baked_image(
            Clients.for_props(news).ec2,
            id_,
            old_tags=olds.get("tags") or {},
            new_tags=news.get("tags") or {},
            old_description=olds.get("description") or "",
            new_description=news.get("description") or "",
        )
        outs = {k: olds[k] for k in (*OUTPUT_KEYS, "name") if k in olds}
        outs.update(lifecycle.update(id_, olds, news, lambda m: _log(news, m), image=image))
        kept = _kept_bookkeeping(olds)
        kept.pop(PATCH_STATE, None)  # as check read it now (or gone with rebake_on)
        if news.get(PATCH_STATE):
            kept[PATCH_STATE] = news[PATCH_STATE]
        return UpdateResult({**_inputs_of(news), **outs, **kept})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Retire on replacement (kept for rollback per keep_previous), remove on destroy;
        an image still in use is kept and reported (providers/lifecycle.py)."""
        lifecycle.release(id_, props, lambda m: _log(props, m))


class BakedImage(pulumi.dynamic.Resource, module="bakery", name="BakedImage"):
    """An AMI baked from a golden instance; a change of ``triggers`` re-bakes."""

    image_id: pulumi.Output[str]
    snapshot_ids: pulumi.Output[list[str]]
    name: pulumi.Output[str]
    root_device_name: pulumi.Output[str]
    architecture: pulumi.Output[str]
    source_instance_id: pulumi.Output[str]
    created_at: pulumi.Output[str]
    downtime_seconds: pulumi.Output[float]
    image_ids: pulumi.Output[dict[str, str]]
    """The image id per region: the bake's region and each copy's."""
    kms_key_ids: pulumi.Output[dict[str, list[str]]]
    """The KMS keys of the image's encrypted snapshots, per region (copies too)."""
    images_in_use: pulumi.Output[dict[str, list[str]]]
    """At bake time: the lineage's other images still in use, and by what (retention
    keeps these)."""

    def __init__(
        self,
        resource_name: str,
        args: BakedImageArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = args.to_props()
        props["lineage"] = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
        for key in OUTPUT_KEYS:
            if key != "bake_id":
                props[key] = None
        super().__init__(
            BakedImageProvider(), resource_name, props, own_provider(resource_name, opts)
        )
