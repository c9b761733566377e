"""InstanceRefresh and BlueGreenCutover: dynamic resources that make `pulumi up` wait.

Each adapts ``providers.aws.rollout`` to Pulumi's contract: props in, a workflow
call, its result out as outputs. ``pulumi up`` does not finish before the fleet runs
the image and is healthy, and fails with the reason (and what a rollback did) when
it does not. The providers hold only plain data (Pulumi pickles them into the
state); each method builds its boto3 clients from the standard credential chain.
Progress lines go to stderr, which the engine shows under the resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from providers.aws import rollout
from providers.aws.clients import make_client
from providers.aws.errors import InvalidInputError
from providers.aws.waits import Pacing
from providers.dynamic_props import UNKNOWN, changed, known, progress

DEFAULT_TIMEOUT_S = 3600.0
# Time as the providers see it. Tests put a fake clock here; nothing else should.
PACING = Pacing()


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _version(value: Any) -> Any:
    """A template version as the string AWS wants ("3"), from 3, 3.0 or "3"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value))
    return value


def _where(props: Mapping[str, Any], region: str | None) -> dict[str, Any]:
    return {"region": props.get("region") or region, "endpoint_url": props.get("endpoint_url")}


def _clients(props: Mapping[str, Any], region: str | None) -> tuple[Any, Any]:
    where = _where(props, region)
    return make_client("autoscaling", **where), make_client("ec2", **where)


def _read_while_group_exists(id_: str, props: dict[str, Any], region: str | None) -> ReadResult:
    """Both rollout resources live as long as their group: gone with it, else unchanged."""
    autoscaling = make_client("autoscaling", **_where(props, region))
    if rollout.describe_group(autoscaling, props.get("group_name") or id_) is None:
        return ReadResult("", {})
    return ReadResult(id_, props)


def _required(props: Mapping[str, Any], keys: Sequence[str]) -> list[CheckFailure]:
    failures = []
    for key in keys:
        value = props.get(key)
        if value == UNKNOWN:
            continue
        if not isinstance(value, str) or not value:
            failures.append(CheckFailure(key, f"{key} is {value!r}: give a non-empty string"))
    return failures


def _timeout_failure(props: Mapping[str, Any]) -> list[CheckFailure]:
    value = props.get("timeout_s", DEFAULT_TIMEOUT_S)
    if value == UNKNOWN:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return [
            CheckFailure(
                "timeout_s", f"timeout_s is {value!r}: give a number of seconds above 0 (e.g. 3600)"
            )
        ]
    return []


def _as_failures(problems: Sequence[InvalidInputError]) -> list[CheckFailure]:
    return [CheckFailure(p.field, str(p)) for p in problems]


# --- InstanceRefresh -----------------------------------------------------------------

REFRESH_INPUTS = (
    "group_name",
    "launch_template_id",
    "launch_template_version",
    "image_id",
    "min_healthy_percentage",
    "instance_warmup_s",
    "checkpoint_percentages",
    "checkpoint_delay_s",
    "skip_matching",
    "auto_rollback",
    "timeout_s",
    "region",
    "endpoint_url",
)
# Another group, or another place: a new resource. The rest update (and roll out).
REFRESH_REPLACE_KEYS = ("group_name", "region", "endpoint_url")


def _preferences(props: Mapping[str, Any]) -> rollout.RefreshPreferences:
    return rollout.RefreshPreferences(
        min_healthy_percentage=int(props.get("min_healthy_percentage", 90)),
        instance_warmup_s=_int_or_none(props.get("instance_warmup_s")),
        checkpoint_percentages=tuple(int(p) for p in props.get("checkpoint_percentages") or ()),
        checkpoint_delay_s=_int_or_none(props.get("checkpoint_delay_s")),
        skip_matching=bool(props.get("skip_matching", True)),
        auto_rollback=bool(props.get("auto_rollback", True)),
    )


class InstanceRefreshProvider(ResourceProvider):
    """Rolls a launch template version out to a group and waits until it is done.

    Pulumi contract: ``create``/``update`` return only once every instance runs the
    version (or raise, which fails ``pulumi up`` and keeps the old state, so the next
    ``up`` tries again); a new version is an update, another group a replacement;
    ``delete`` does nothing (a refresh is history; the group is the Group's).
    """

    serialize_as_secret_always = False  # plain data only: nothing secret to hide

    def __init__(self) -> None:
        super().__init__()
        self.default_region: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack's ``aws:region`` for props that name none."""
        self.default_region = req.config.get("aws:region")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """One failure per bad prop, naming it and the fix; unknowns pass until known."""
        inputs = dict(news)
        inputs["launch_template_version"] = _version(news.get("launch_template_version"))
        failures = _required(
            inputs, ("group_name", "launch_template_id", "launch_template_version", "image_id")
        )
        version = inputs.get("launch_template_version")
        if isinstance(version, str) and version and known(version) and not version.isdigit():
            failures.append(
                CheckFailure(
                    "launch_template_version",
                    f"launch_template_version is {version!r}: give an explicit version "
                    "number (e.g. LaunchTemplate.latest_version); with $Latest or $Default "
                    "a change never starts a refresh and auto-rollback is not supported",
                )
            )
        pref_keys = ("min_healthy_percentage", "instance_warmup_s", "checkpoint_percentages")
        if all(known(inputs.get(k)) or inputs.get(k) is None for k in pref_keys):
            try:
                failures += _as_failures(rollout.check_preferences(_preferences(inputs)))
            except (TypeError, ValueError) as exc:
                failures.append(
                    CheckFailure("min_healthy_percentage", f"refresh preferences: {exc}")
                )
        failures += _timeout_failure(inputs)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new template version (or settings) updates; another group replaces."""
        differs = changed(olds, news, REFRESH_INPUTS)
        return DiffResult(
            changes=bool(differs),
            replaces=[k for k in differs if k in REFRESH_REPLACE_KEYS],
            delete_before_replace=False,
        )

    def _roll_out(self, props: Mapping[str, Any]) -> dict[str, Any]:
        autoscaling, ec2 = _clients(props, self.default_region)
        target = rollout.TemplateVersion(
            props["launch_template_id"], str(_version(props["launch_template_version"]))
        )
        result = rollout.roll_out_template(
            autoscaling,
            ec2,
            props["group_name"],
            target,
            props["image_id"],
            _preferences(props),
            timeout_s=float(props.get("timeout_s", DEFAULT_TIMEOUT_S)),
            pacing=PACING,
            log=progress,
        )
        outs = {k: props.get(k) for k in REFRESH_INPUTS}
        outs["launch_template_version"] = target.version
        outs.update(refresh_id=result.refresh_id, status=result.status)
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start or adopt the refresh to the version (if needed) and wait for it."""
        return CreateResult(props["group_name"], self._roll_out(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """As ``create``: a new version starts (or adopts) a refresh and waits."""
        return UpdateResult(self._roll_out(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs while the group exists; an empty id once it is gone."""
        return _read_while_group_exists(id_, props, self.default_region)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete: the refresh is history."""


@dataclass
class InstanceRefreshArgs:
    """Inputs of an InstanceRefresh: the group, the explicit version, and how to roll."""

    group_name: pulumi.Input[str]
    launch_template_id: pulumi.Input[str]
    launch_template_version: pulumi.Input[str] | pulumi.Input[int]
    image_id: pulumi.Input[str]
    min_healthy_percentage: int = 90
    instance_warmup_s: int | None = None
    checkpoint_percentages: Sequence[int] = field(default_factory=tuple)
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S
    region: pulumi.Input[str] | None = None
    endpoint_url: str | None = None


class InstanceRefresh(Resource, module="bakery", name="InstanceRefresh"):
    """A launch template version rolled out to a group by an instance refresh.

    Outputs: the inputs, plus ``refresh_id`` (empty when the group already ran the
    version) and ``status`` ("Successful" or "AlreadyCurrent").
    """

    group_name: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]
    launch_template_version: pulumi.Output[str]
    image_id: pulumi.Output[str]
    refresh_id: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: InstanceRefreshArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "group_name": args.group_name,
            "launch_template_id": args.launch_template_id,
            "launch_template_version": pulumi.Output.from_input(args.launch_template_version).apply(
                _version
            ),
            "image_id": args.image_id,
            "min_healthy_percentage": args.min_healthy_percentage,
            "instance_warmup_s": args.instance_warmup_s,
            "checkpoint_percentages": list(args.checkpoint_percentages),
            "checkpoint_delay_s": args.checkpoint_delay_s,
            "skip_matching": args.skip_matching,
            "auto_rollback": args.auto_rollback,
            "timeout_s": args.timeout_s,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "refresh_id": None,
            "status": None,
        }
        super().__init__(InstanceRefreshProvider(), resource_name, props, opts)


# --- BlueGreenCutover ----------------------------------------------------------------

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
CUTOVER_REPLACE_KEYS = ("group_name", "fleet", "region", "endpoint_url")


class BlueGreenCutoverProvider(ResourceProvider):
    """Waits until a new group is healthy on the image, then retires the fleet's others.

    Pulumi contract: ``create`` returns once the group's desired capacity is
    InService, healthy and on the image, and every other group of the fleet (tag
    ``bakery:fleet``) is deleted; on failure it raises and deletes nothing, so the
    old group keeps serving. The component marks groups ``retain_on_delete``: the
    engine deletes a replaced group at the start of the next ``up`` even when this
    update failed, so groups are deleted here, never by the engine. ``delete``
    removes this cutover's group (and its launch configuration) and any group of the
    fleet that never became the serving one.
    """

    serialize_as_secret_always = False  # plain data only: nothing secret to hide

    def __init__(self) -> None:
        super().__init__()
        self.default_region: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack's ``aws:region`` for props that name none."""
        self.default_region = req.config.get("aws:region")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """One failure per bad prop, naming it and the fix; unknowns pass until known."""
        inputs = dict(news)
        inputs["launch_template_version"] = _version(news.get("launch_template_version"))
        failures = _required(inputs, ("group_name", "image_id", "fleet"))
        failures += _timeout_failure(inputs)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new group replaces the cutover (create: wait + retire; delete: cleanup)."""
        differs = changed(olds, news, CUTOVER_INPUTS)
        return DiffResult(
            changes=bool(differs),
            replaces=[k for k in differs if k in CUTOVER_REPLACE_KEYS],
            delete_before_replace=False,
        )

    def _cut_over(self, props: Mapping[str, Any]) -> dict[str, Any]:
        autoscaling, ec2 = _clients(props, self.default_region)
        result = rollout.cut_over(
            autoscaling,
            ec2,
            props["group_name"],
            props["image_id"],
            props["fleet"],
            launch_configuration_prefix=props.get("launch_configuration_prefix"),
            timeout_s=float(props.get("timeout_s", DEFAULT_TIMEOUT_S)),
            pacing=PACING,
            log=progress,
        )
        outs = {k: props.get(k) for k in CUTOVER_INPUTS}
        outs.update(
            healthy_instances=list(result.health.ready),
            retired_groups=list(result.retired),
        )
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Wait for the new group to be healthy on the image, then retire the others."""
        return CreateResult(props["group_name"], self._cut_over(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """As ``create`` (same group): waits again, retires any other group again."""
        return UpdateResult(self._cut_over(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs while the group exists; an empty id once it is gone."""
        return _read_while_group_exists(id_, props, self.default_region)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete this cutover's group, then every group of the fleet never cut over to.

        Runs when the stack is destroyed and, after a replacement, once the new
        cutover succeeded (its group is tagged serving and so spared).
        """
        autoscaling, _ec2 = _clients(props, self.default_region)
        prefix = props.get("launch_configuration_prefix")
        own_lc = props.get("launch_configuration_name") or ""
        rollout.delete_group(
            autoscaling,
            props["group_name"],
            launch_configuration=own_lc if prefix and own_lc.startswith(prefix) else None,
            pacing=PACING,
            log=progress,
        )
        rollout.retire_groups(
            autoscaling,
            props["fleet"],
            props["group_name"],
            launch_configuration_prefix=prefix,
            only_not_serving=True,
            pacing=PACING,
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
    timeout_s: float = DEFAULT_TIMEOUT_S
    region: pulumi.Input[str] | None = None
    endpoint_url: str | None = None


class BlueGreenCutover(Resource, module="bakery", name="BlueGreenCutover"):
    """A new group that became the fleet's serving group; the fleet's others retired.

    Outputs: the inputs, plus ``healthy_instances`` (the group's InService, healthy
    instances on the image) and ``retired_groups`` (the groups deleted).
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
        version = args.launch_template_version
        props: dict[str, Any] = {
            "group_name": args.group_name,
            "image_id": args.image_id,
            "fleet": args.fleet,
            "launch_template_id": args.launch_template_id,
            "launch_template_version": None
            if version is None
            else pulumi.Output.from_input(version).apply(_version),
            "launch_configuration_name": args.launch_configuration_name,
            "launch_configuration_prefix": args.launch_configuration_prefix,
            "timeout_s": args.timeout_s,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "healthy_instances": None,
            "retired_groups": None,
        }
        super().__init__(BlueGreenCutoverProvider(), resource_name, props, opts)


def preference_problems(
    *,
    min_healthy_percentage: int,
    instance_warmup_s: int | None,
    checkpoint_percentages: Sequence[int],
    checkpoint_delay_s: int | None,
) -> list[InvalidInputError]:
    """Every problem with refresh preferences, for a component to fail at preview."""
    return rollout.check_preferences(
        rollout.RefreshPreferences(
            min_healthy_percentage=min_healthy_percentage,
            instance_warmup_s=instance_warmup_s,
            checkpoint_percentages=tuple(checkpoint_percentages),
            checkpoint_delay_s=checkpoint_delay_s,
        )
    )


FLEET_TAG = rollout.FLEET_TAG
