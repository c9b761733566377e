"""What a ``pulumi preview --json`` means for Bakery: bakes, released images, rollouts.

``read_preview(document, lineage_lookup)`` turns the JSON document the Pulumi CLI
prints for ``pulumi preview --json`` (and ``pulumi destroy --preview-only --json``:
``steps``, each with ``op``, ``urn``, ``oldState``/``newState`` holding ``inputs`` and
``outputs``; ``changeSummary``; ``diagnostics``) into a ``Report``:

- ``Bake``: a BakedImage created, replaced (a re-bake), updated in place or deleted,
  with the inputs that changed (old -> new, from the two states' inputs, without the
  ``__`` keys the CLI hides and the derived bookkeeping keys), what happens to the
  golden instance, and which images it retires or deregisters. Images a replacement
  retired earlier are not in the state; ``lineage_lookup`` reads them from AWS.
- ``Rollout``: an InstanceRefresh or BlueGreenCutover that runs, with its group, its
  preferences and estimated duration by the fleet's rules (fleet_rules.py).
- ``Other``: every other step, as the CLI's own one-line summary.

No AWS call here: the lookup is injected (scripts/pr_preview.py gives one over boto3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import LineageUnreadableError
from providers.aws.images.lineage import LineageImage, ReleasePlan, release_plan
from providers.aws.rules.bake_plan import PATCH_STATE
from providers.aws.rules.lifecycle_plan import (
    copies_made,
    describe_plan,
    plan_lifecycle,
    update_lifecycles,
)
from providers.aws.rules.patch_state import from_fingerprint
from providers.aws.rules.rollout import RefreshPreferences, RolloutEstimate, estimate_rollout

BAKED_IMAGE = "pulumi-python:dynamic/bakery:BakedImage"
INSTANCE_REFRESH = "pulumi-python:dynamic/bakery:InstanceRefresh"
BLUE_GREEN = "pulumi-python:dynamic/bakery:BlueGreenCutover"
GROUP = "aws:autoscaling/group:Group"
# Auto Scaling's default health check grace period (CreateAutoScalingGroup).
DEFAULT_GRACE_S = 300
# The engine's stand-in for a value known only after apply (pulumi sdk: UnknownStringValue).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Inputs derived from others: their change is a consequence, not a reason.
DERIVED_KEYS = frozenset({"bake_id", "lineage"})
# The CLI's marks for each step op (pkg/display: deploy.Step op prefixes).
OP_SYMBOLS = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "replace": "+-",
    "create-replacement": "++",
    "delete-replaced": "--",
    "read": ">",
    "refresh": "~",
    "import": "=",
    "discard": "<",
}
LineageLookup = Callable[[Mapping[str, Any]], list[LineageImage]]
"""A BakedImage's inputs (lineage, region, endpoint, in-use policy) -> its lineage's
images, newest first; raises LineageUnreadableError when AWS cannot be read."""


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Bake:
    """A BakedImage step and what it does in AWS."""

    name: str
    op: str  # "create", "replace", "update" or "delete"
    instance_id: str
    consistency: str  # "stop", "reboot" or "live"
    changes: tuple[Change, ...]
    old_image_id: str | None
    old_snapshot_count: int
    last_downtime_s: float | None
    lineage: str
    keep_previous: int
    retain_on_delete: bool
    release: ReleasePlan | None = None
    lineage_note: str = ""
    # An in-place update: what it does to the image and its copies, in order (the
    # provider's own plan, rules/lifecycle_plan.py, from the two states; AWS unread).
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rollout:
    """An instance refresh (rolling) or a blue/green cutover that this run starts.

    ``prefs`` are the refresh preferences resolved for the group's size and
    ``estimate`` the preview-time duration, both by the fleet's own rules
    (providers/aws/rules/rollout.py), so the comment says what the rollout will do.
    """

    name: str
    strategy: str  # "rolling" or "blue_green"
    op: str
    group: str
    desired: int
    min_size: int
    max_size: int
    prefs: RefreshPreferences
    estimate: RolloutEstimate
    warmup_s: int
    timeout_s: float | None
    changes: tuple[Change, ...]
    sized: bool = True  # the group is in the document (``--show-sames`` or it changes)


@dataclass(frozen=True)
class Other:
    """Any other step, as the CLI's one-line summary."""

    op: str
    type: str
    name: str
    diff_keys: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        keys = f" [diff: ~{','.join(self.diff_keys)}]" if self.diff_keys else ""
        return f"{OP_SYMBOLS.get(self.op, ' '):>2} {self.type} {self.name} {self.op}{keys}"


@dataclass
class Report:
    stack: str
    project: str
    summary: dict[str, int]
    bakes: list[Bake] = field(default_factory=list)
    rollouts: list[Rollout] = field(default_factory=list)
    others: list[Other] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not any(n for op, n in self.summary.items() if op != "same")


def _value(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """A prop by its name or by its ``__`` bookkeeping name (both state layouts)."""
    if key in props:
        return props[key]
    return props.get(f"__{key}", default)


def _urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, type, name) of ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    head, _, rest = urn.partition("::")
    project, _, rest = rest.partition("::")
    qualified, _, name = rest.rpartition("::")
    return head.removeprefix("urn:pulumi:"), project, qualified.rsplit("$", 1)[-1], name


def _state(step: Mapping[str, Any], which: str) -> dict[str, Any]:
    return dict(step.get(which) or {})


def changed_inputs(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Change, ...]:
    """Inputs that differ (sorted), without ``__`` keys and derived keys.

    A generated ``name`` (the resource did not set one) is derived from the bake id.
    """
    skip = set(DERIVED_KEYS)
    if not _value(new, "user_named", True) or not _value(old, "user_named", True):
        skip.add("name")
    keys = sorted({*old, *new} - skip)
    return tuple(
        Change(k, old.get(k), new.get(k))
        for k in keys
        if not k.startswith("__") and old.get(k) != new.get(k)
    )


def _consistency(inputs: Mapping[str, Any]) -> str:
    mode = _value(inputs, "consistency")
    if mode in ("stop", "reboot", "live"):
        return str(mode)
    return "live" if _value(inputs, "stop_instance", True) is False else "stop"


def _int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool) or value is None or value == UNKNOWN:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bake(step: Mapping[str, Any], name: str, lookup: LineageLookup | None) -> Bake:
    old, new = _state(step, "oldState"), _state(step, "newState")
    old_in, new_in = dict(old.get("inputs") or {}), dict(new.get("inputs") or {})
    old_out = dict(old.get("outputs") or {})
    op = {"create-replacement": "replace", "delete-replaced": "replace"}.get(step["op"], step["op"])
    inputs = new_in or old_in
    downtime = old_out.get("downtime_seconds")
    bake = Bake(
        name=name,
        op=op,
        instance_id=str(inputs.get("instance_id", "?")),
        consistency=_consistency(inputs),
        changes=_bake_changes(old_in, old_out, new_in) if old_in and new_in else (),
        old_image_id=(old_out.get("image_id") or old.get("id")) if old else None,
        old_snapshot_count=len(old_out.get("snapshot_ids") or ()),
        last_downtime_s=float(downtime) if isinstance(downtime, int | float) else None,
        lineage=str(_value(inputs, "lineage", "")),
        keep_previous=_int(inputs.get("keep_previous"), 1) or 0,
        retain_on_delete=bool(inputs.get("retain_on_delete", False)),
        actions=_update_actions(old_in, old_out, new_in) if op == "update" else (),
    )
    if op not in ("replace", "delete") or not bake.old_image_id:
        return bake
    return _with_release(bake, inputs, lookup)


def _bake_changes(
    old_in: Mapping[str, Any], old_out: Mapping[str, Any], new_in: Mapping[str, Any]
) -> tuple[Change, ...]:
    """The changed inputs, and the golden instance's patch state when ``rebake_on:
    [patch_state]`` re-bakes on it (kept in ``__patch_state``, shown as its summary)."""
    changes = changed_inputs(old_in, new_in)
    old = old_out.get(PATCH_STATE) or old_in.get(PATCH_STATE)
    new = new_in.get(PATCH_STATE)
    if not old or not new or old == new:
        return changes
    before, after = from_fingerprint(str(old)), from_fingerprint(str(new))
    return (
        Change(
            "patch state",
            before.summary() if before else old,
            after.summary() if after else new,
        ),
        *changes,
    )


def _update_actions(
    old_in: Mapping[str, Any], old_out: Mapping[str, Any], new_in: Mapping[str, Any]
) -> tuple[str, ...]:
    """What an in-place update will do, by the provider's plan (values unknown until
    apply are left out of the plan: they show as their own changes)."""
    if not old_in or not new_in or any(v == UNKNOWN for v in new_in.values()):
        return ()
    olds = {**old_in, **old_out}
    old, new = update_lifecycles(olds, new_in)
    made = copies_made({**olds, "region": new_in.get("region")})
    return tuple(describe_plan(plan_lifecycle(old, new, None, copies_made=made)))


def _with_release(bake: Bake, inputs: Mapping[str, Any], lookup: LineageLookup | None) -> Bake:
    """The bake with the images it releases, from AWS when the lookup can read them."""
    assert bake.old_image_id is not None
    old = LineageImage(bake.old_image_id, "", "", False, bake.old_snapshot_count)
    note = ""
    images: list[LineageImage] = [old]
    if lookup is None:
        note = "AWS not consulted (--no-aws)"
    else:
        try:
            images = lookup(inputs)
        except LineageUnreadableError as exc:
            note = f"AWS not consulted: {exc}"
        else:
            if not any(i.image_id == bake.old_image_id for i in images):
                images = [old, *images]
    plan = release_plan(
        images,
        released_id=bake.old_image_id,
        replaced=bake.op == "replace",
        keep_previous=bake.keep_previous,
        retain_on_delete=bake.retain_on_delete,
    )
    return Bake(**{**vars(bake), "release": plan, "lineage_note": note})


def _groups_by_parent(steps: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for step in steps:
        state = _state(step, "newState") or _state(step, "oldState")
        if state.get("type") == GROUP:
            found[str(state.get("parent", ""))] = dict(state.get("inputs") or {})
    return found


def _rollout(step: Mapping[str, Any], name: str, group: Mapping[str, Any]) -> Rollout:
    old, new = _state(step, "oldState"), _state(step, "newState")
    inputs = {k: v for k, v in dict(new.get("inputs") or {}).items() if v != UNKNOWN}
    rolling = new.get("type") == INSTANCE_REFRESH
    min_size = _int(group.get("minSize"), 0) or 0
    desired = _int(group.get("desiredCapacity"), min_size) or 0
    grace = _int(group.get("healthCheckGracePeriod"), DEFAULT_GRACE_S) or 0
    default_warmup = _int(group.get("defaultInstanceWarmup"))
    prefs = RefreshPreferences.from_props(inputs if rolling else {}).for_capacity(desired)
    warmup = prefs.instance_warmup_s
    if warmup is None:
        warmup = default_warmup if default_warmup is not None else grace
    group_name = inputs.get("group_name") or group.get("name") or "(known after apply)"
    return Rollout(
        name=name,
        strategy="rolling" if rolling else "blue_green",
        op=step["op"],
        group=str(group_name),
        desired=desired,
        min_size=min_size,
        max_size=_int(group.get("maxSize"), min_size) or 0,
        prefs=prefs,
        estimate=estimate_rollout(
            prefs,
            desired=desired,
            grace_s=grace,
            default_instance_warmup_s=default_warmup,
            blue_green=not rolling,
        ),
        warmup_s=warmup,
        timeout_s=inputs.get("timeout_s"),
        changes=changed_inputs(dict(old.get("inputs") or {}), new.get("inputs") or {})
        if old
        else (),
        sized=bool(group),
    )


def read_preview(document: Mapping[str, Any], lineage_lookup: LineageLookup | None) -> Report:
    """The report of one ``pulumi preview --json`` (or ``destroy --preview-only --json``)."""
    steps = list(document.get("steps") or [])
    stack, project = "?", "?"
    if steps:
        stack, project, _, _ = _urn_parts(steps[0]["urn"])
    report = Report(stack, project, dict(document.get("changeSummary") or {}))
    groups = _groups_by_parent(steps)
    for step in steps:
        _, _, type_, name = _urn_parts(step["urn"])
        op = step["op"]
        if op == "same":
            continue
        state = _state(step, "newState") or _state(step, "oldState")
        if type_ == BAKED_IMAGE and op != "delete-replaced":
            report.bakes.append(_bake(step, name, lineage_lookup))
        elif type_ in (INSTANCE_REFRESH, BLUE_GREEN) and op in ("create", "update", "replace"):
            report.rollouts.append(_rollout(step, name, groups.get(str(state.get("parent")), {})))
        else:
            keys = step.get("diffReasons") or step.get("replaceReasons")
            if not keys:  # the CLI's JSON gives reasons for replacements only
                old_in = _state(step, "oldState").get("inputs") or {}
                new_in = _state(step, "newState").get("inputs") or {}
                keys = [c.key for c in changed_inputs(old_in, new_in)] if old_in and new_in else []
            report.others.append(Other(op, type_, name, tuple(keys)))
    for diagnostic in document.get("diagnostics") or []:
        text = str(diagnostic.get("message", "")).strip()
        if text:
            severity = str(diagnostic.get("severity", "info")).split("#")[0]  # "info#err"
            report.messages.append(f"{severity}: {text}")
    return report
