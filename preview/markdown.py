"""A preview ``Report`` as the Markdown comment a reviewer acts on (pr_preview.py prints it).

One block per resource that matters (each bake, each released image, each rollout),
then every other step as the CLI's one-line summary, then the program's messages.
"""

from __future__ import annotations

import json
from typing import Any

from preview.report import UNKNOWN, Bake, Change, Report, Rollout
from providers.aws.images.lineage import LineageImage

# The comment's first line: the workflow finds its comment for a stack by it and
# updates it instead of adding another (.github/workflows/preview.yml).
COMMENT_MARKER = "<!-- bakery-pr-preview"
# The CLI's own summary words ("Resources: +1 to create, 2 unchanged").
_SUMMARY = {"same": "{n} unchanged"}
_INSTANCE_FATE = {
    "stop": "**will stop** `{id}` (consistency `stop`), snapshot it, and start it again "
    "as soon as the snapshots have started",
    "reboot": "**will reboot** `{id}` (consistency `reboot`: EC2 shuts the OS down cleanly, "
    "starts the snapshots and boots it again)",
    "live": "runs on: `{id}` is imaged while it runs (consistency `live`, crash-consistent)",
}


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if value == UNKNOWN:
        return "(known after apply)"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, str | int | float | bool):
        return json.dumps(value) if isinstance(value, bool) else str(value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _change(change: Change) -> str:
    return f"`{change.key}: {_show(change.old)} -> {_show(change.new)}`"


def _minutes(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _downtime(bake: Bake) -> str:
    if bake.consistency == "live":
        return "none (nothing is stopped)"
    what = "a stop and a start" if bake.consistency == "stop" else "one reboot"
    last = bake.last_downtime_s
    if last is not None and bake.consistency == "stop":
        return f"{what}; the last bake of `{bake.name}` was down {_minutes(last)}"
    return f"{what}, typically 1-2 min"


def _image(image: LineageImage, *, in_state: bool) -> str:
    parts = [f"{image.snapshot_count} snapshot{'s' if image.snapshot_count != 1 else ''}"]
    if image.retired:
        parts.append("retired")
    if not in_state:
        parts.append("not in the Pulumi state")
    if image.in_use:
        parts.append("in use: " + "; ".join(image.in_use))
    return f"`{image.image_id}` ({', '.join(parts)})"


def _release_lines(bake: Bake) -> list[str]:
    plan = bake.release
    if plan is None:
        return []
    lines = []

    def listed(images: tuple[LineageImage, ...]) -> str:
        return ", ".join(_image(i, in_state=i.image_id == bake.old_image_id) for i in images)

    if plan.retire:
        lines.append(
            f"- **Retires** {listed(plan.retire)}: it stays registered for rollback "
            f"(`keep_previous: {bake.keep_previous}`)"
        )
    if plan.deregister:
        lines.append(f"- **Deregisters**, deleting their snapshots: {listed(plan.deregister)}")
    if plan.keep and bake.op == "delete" and bake.retain_on_delete:
        lines.append(f"- **Keeps** (`retain_on_delete: true`): {listed(plan.keep)}")
    elif plan.keep:
        lines.append(
            f"- **Keeps** registered (in use, or within `keep_previous`): {listed(plan.keep)}"
        )
    if bake.lineage_note:
        lines.append(
            f"- {bake.lineage_note}: retired images of lineage `{bake.lineage}` that are not "
            "in the Pulumi state are not listed above"
        )
    else:
        lines.append(f"- Images read from AWS by tag `bakery:lineage={bake.lineage}`")
    return lines


def _bake_block(bake: Bake) -> list[str]:
    title = {
        "create": f"#### Bake `{bake.name}` (BakedImage, first bake)",
        "replace": f"#### Re-bake `{bake.name}` (BakedImage)",
        "update": f"#### Update `{bake.name}` (BakedImage, in place: nothing is baked)",
        "delete": f"#### Destroy `{bake.name}` (BakedImage)",
    }.get(bake.op, f"#### `{bake.name}` (BakedImage, {bake.op})")
    lines = [title]
    if bake.changes:
        lines.append("- **Why**: " + "; ".join(_change(c) for c in bake.changes))
    elif bake.op == "create":
        lines.append("- **Why**: no image of `" + bake.name + "` in the Pulumi state yet")
    elif bake.op in ("replace", "update"):
        lines.append("- **Why**: no input changed; the provider asked for it (see the messages)")
    if bake.op in ("create", "replace"):
        fate = _INSTANCE_FATE[bake.consistency].format(id=bake.instance_id)
        lines.append(f"- **Golden instance**: {fate}")
        lines.append(f"- **Expected downtime**: {_downtime(bake)}")
    elif bake.op == "delete":
        lines.append(f"- **Golden instance** `{bake.instance_id}`: untouched")
    if bake.actions:
        lines.append("- **Will**: " + "; ".join(bake.actions))
    return lines + _release_lines(bake)


def _rollout_block(rollout: Rollout) -> list[str]:
    if rollout.strategy == "rolling":
        title = f"#### Fleet rollout `{rollout.name}` (rolling: instance refresh)"
    else:
        title = f"#### Fleet rollout `{rollout.name}` (blue/green: a new group per image)"
    if rollout.sized:
        size = f"{rollout.min_size}-{rollout.max_size} instances, {rollout.desired} desired"
    else:
        size = "size not in this preview (run `pulumi preview --json --show-sames`)"
    lines = [title, f"- **Group**: `{rollout.group}`, {size}"]
    if rollout.changes:
        lines.append("- **Why**: " + "; ".join(_change(c) for c in rollout.changes))
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in rollout.estimate.parts.items() if v)
    estimate = f"≈ {_minutes(rollout.estimate.seconds)} ({parts})"
    if rollout.strategy == "rolling":
        prefs = rollout.prefs
        checkpoints = ", ".join(f"{p} %" for p in prefs.checkpoint_percentages) or "none"
        if prefs.checkpoint_percentages:
            checkpoints += f", {prefs.checkpoint_delay_s or 0} s pause at each"
        lines += [
            f"- **Healthy**: min {prefs.min_healthy_percentage} %, "
            f"max {prefs.max_healthy_percentage or 100} % of the group during the refresh",
            f"- **Checkpoints**: {checkpoints}",
        ]
        if rollout.op == "create":
            lines.append(
                "- **First deploy**: the new group launches on the image; "
                "the refresh finds it current"
            )
        lines.append(f"- **Estimated duration**: {estimate}; {rollout.warmup_s} s warm-up")
        if prefs.auto_rollback:
            failure = (
                "Auto Scaling rolls the group back to the previous launch template version "
                "(the previous image stays registered, retired); `pulumi up` fails"
            )
        else:
            failure = (
                "the refresh stops where it failed: replaced instances keep the new image, "
                "the others the old one; `pulumi up` fails"
            )
    else:
        lines.append(
            f"- **Estimated duration**: {estimate}: the new group launches and is healthy "
            "after warm-up, then the old group drains and goes"
        )
        failure = (
            "nothing is deleted: the old group keeps serving at its capacity; `pulumi up` fails"
        )
    if rollout.timeout_s:
        failure += f" (`pulumi up` waits at most {_minutes(float(rollout.timeout_s))})"
    lines.append(f"- **On failure**: {failure}")
    return lines


def _summary(report: Report) -> str:
    parts = [
        _SUMMARY.get(op, "{n} to {op}").format(n=n, op=op)
        for op, n in sorted(report.summary.items())
        if n
    ]
    return ", ".join(parts) or "no resources"


def render(report: Report) -> str:
    """The Markdown comment for ``report``."""
    marker = f"{COMMENT_MARKER} {report.project}/{report.stack} -->"
    lines = [marker, f"### Pulumi preview of `{report.project}/{report.stack}`", ""]
    if report.nothing_to_do:
        lines.append(f"**Nothing to do**: no resource changes ({_summary(report)}).")
    else:
        lines.append(f"**{_summary(report)}**")
    for block in [*map(_bake_block, report.bakes), *map(_rollout_block, report.rollouts)]:
        lines += ["", *block]
    if report.others:
        lines += ["", "#### Other changes", "```", *(o.line for o in report.others), "```"]
    if report.messages:
        lines += ["", "<details><summary>Messages from the program</summary>", "", "```"]
        lines += [*report.messages, "```", "</details>"]
    return "\n".join(lines) + "\n"
