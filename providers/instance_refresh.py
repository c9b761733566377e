"""InstanceRefresh: a dynamic resource that makes `pulumi up` wait for a rolling refresh.

Adapts ``providers.aws.fleet.instance_refresh`` to Pulumi's contract: props in, a workflow
call, its result out as outputs. ``pulumi up`` does not finish before the fleet runs
the image and is healthy (in its target groups too), and fails with the reason (and
what a rollback did) when it does not. Progress lines go to stderr, which the engine
shows under the resource.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, Resource, UpdateResult

from providers import fleet_base
from providers.aws.fleet import instance_refresh
from providers.aws.rules.rollout import (
    DEFAULT_TIMEOUT_S,
    PREFERENCE_KEYS,
    RefreshPreferences,
    check_preferences,
)
from providers.dynamic_props import known, progress
from providers.fleet_base import FleetProvider, as_failures, required, timeout_failure, version

REFRESH_INPUTS = (
    "group_name",
    "launch_template_id",
    "launch_template_version",
    "image_id",
    *PREFERENCE_KEYS,
    "timeout_s",
    "region",
    "endpoint_url",
)
# The group's planned size and target groups: read when a refresh runs, but a change
# of them alone starts none (the group's own update applies them).
REFRESH_CONTEXT = ("desired_capacity", "max_size", "target_group_arns")
# Another group, or another place: a new resource. The rest update (and roll out).
REFRESH_REPLACE_KEYS = ("group_name", "region", "endpoint_url")


def preferences(props: Mapping[str, Any]) -> RefreshPreferences:
    """The refresh preferences of props (AWS's real defaults handled: fleet_rules)."""
    return RefreshPreferences.from_props(props)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or not known(value) else int(value)


class InstanceRefreshProvider(FleetProvider):
    """Rolls a launch template version out to a group and waits until it is done.

    Pulumi contract: ``create``/``update`` return only once every instance runs the
    version (or raise, which fails ``pulumi up`` and keeps the old state, so the next
    ``up`` tries again); a new version is an update, another group a replacement;
    ``delete`` does nothing (a refresh is history; the group is the Group's). Props
    added since older states (the newer preferences) take their defaults on both
    sides of ``diff``, so an older state shows no change.
    """

    INPUTS = REFRESH_INPUTS
    REPLACE_KEYS = REFRESH_REPLACE_KEYS

    def normalized(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Props with every preference present (the defaults where older states lack it)."""
        out = dict(props)
        with contextlib.suppress(TypeError, ValueError):  # check reports it
            out.update(preferences(props).to_props())
        return out

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """One failure per bad prop, naming it and the fix; unknowns pass until known."""
        inputs = dict(news)
        inputs["launch_template_version"] = version(news.get("launch_template_version"))
        failures = required(
            inputs, ("group_name", "launch_template_id", "launch_template_version", "image_id")
        )
        value = inputs.get("launch_template_version")
        if isinstance(value, str) and value and known(value) and not value.isdigit():
            failures.append(
                CheckFailure(
                    "launch_template_version",
                    f"launch_template_version is {value!r}: give an explicit version "
                    "number (e.g. LaunchTemplate.latest_version); with $Latest or $Default "
                    "a change never starts a refresh and auto-rollback is not supported",
                )
            )
        if all(known(inputs.get(k)) or inputs.get(k) is None for k in PREFERENCE_KEYS):
            try:
                prefs = preferences(inputs)
            except (TypeError, ValueError) as exc:
                failures.append(
                    CheckFailure("min_healthy_percentage", f"refresh preferences: {exc}")
                )
            else:
                inputs.update(prefs.to_props())
                failures += as_failures(
                    check_preferences(
                        prefs,
                        desired=_int_or_none(inputs.get("desired_capacity")),
                        max_size=_int_or_none(inputs.get("max_size")),
                    )
                )
        failures += timeout_failure(inputs)
        return CheckResult(inputs, failures)

    def _roll_out(self, props: Mapping[str, Any]) -> dict[str, Any]:
        autoscaling, ec2, elbv2 = fleet_base.clients(
            props, self.default_region, "autoscaling", "ec2", "elbv2"
        )
        target = instance_refresh.TemplateVersion(
            props["launch_template_id"], str(version(props["launch_template_version"]))
        )
        result = instance_refresh.roll_out_template(
            autoscaling,
            ec2,
            props["group_name"],
            target,
            props["image_id"],
            preferences(props),
            elbv2=elbv2,
            target_groups=list(props.get("target_group_arns") or []),
            timeout_s=float(props.get("timeout_s", DEFAULT_TIMEOUT_S)),
            pacing=fleet_base.PACING,
            log=progress,
        )
        outs = {k: props.get(k) for k in (*REFRESH_INPUTS, *REFRESH_CONTEXT)}
        outs["launch_template_version"] = target.version
        outs.update(refresh_id=result.refresh_id, status=result.status)
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start or adopt the refresh to the version (if needed) and wait for it."""
        return CreateResult(props["group_name"], self._roll_out(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """As ``create``: a new version starts (or adopts) a refresh and waits."""
        return UpdateResult(self._roll_out(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete: the refresh is history."""


@dataclass
class InstanceRefreshArgs:
    """Inputs of an InstanceRefresh: the group, the explicit version, and how to roll."""

    group_name: pulumi.Input[str]
    launch_template_id: pulumi.Input[str]
    launch_template_version: pulumi.Input[str] | pulumi.Input[int]
    image_id: pulumi.Input[str]
    preferences: RefreshPreferences = field(default_factory=RefreshPreferences)
    desired_capacity: int | None = None
    max_size: int | None = None
    target_group_arns: Sequence[pulumi.Input[str]] = ()
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
                version
            ),
            "image_id": args.image_id,
            **args.preferences.to_props(),
            "desired_capacity": args.desired_capacity,
            "max_size": args.max_size,
            "target_group_arns": list(args.target_group_arns),
            "timeout_s": args.timeout_s,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
            "refresh_id": None,
            "status": None,
        }
        super().__init__(InstanceRefreshProvider(), resource_name, props, opts)
