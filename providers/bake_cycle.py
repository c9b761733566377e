"""The steps around the image, at the adapter: patch, prepare, restore, verify, rebake_on.

Props in (plain mappings, judged by ``rules/bake_steps``), specs out for the bake
request, and the check-time reads: the instance's patch state for ``rebake_on`` (kept
in ``__patch_state``, which the bake id follows) and the pre-flight of the SSM agent,
the documents and the verify subnet. Every AWS call here is a Describe or Get.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.aws.bake.commands import agent_online, document_problem
from providers.aws.bake.cycle_preflight import step_notes, sysprep_problems, verify_problems
from providers.aws.bake.patch_state import describe_change, from_fingerprint, read_patch_state
from providers.aws.clients import Clients
from providers.aws.errors import InvalidInputError
from providers.aws.rules import bake_steps
from providers.aws.rules.bake_plan import PATCH_STATE
from providers.baked_image_args import CYCLE_KEYS

__all__ = ["CYCLE_KEYS", "PATCH_STATE"]

Problems = list[InvalidInputError]
_JUDGES: dict[str, Callable[[Any, str], tuple[Any, Problems]]] = {
    "patch": bake_steps.patch_of,
    "prepare": bake_steps.command_of,
    "restore": bake_steps.command_of,
    "verify": bake_steps.verify_of,
    "rebake_on": bake_steps.rebake_on_of,
}
_COMMAND_STEPS = ("patch", "prepare", "restore")


def check_inputs(inputs: Mapping[str, Any], known: Callable[[str], bool]) -> Problems:
    """One problem per bad field (``patch.operation``, ``verify.subnet_id``, ...)."""
    problems: Problems = []
    for name, judge in _JUDGES.items():
        if known(name):
            problems += judge(inputs.get(name), name)[1]
    return problems


def request_specs(props: Mapping[str, Any]) -> dict[str, Any]:
    """``BakeRequest`` keyword arguments of validated props (None: not asked for)."""
    return {name: _JUDGES[name](props.get(name), name)[0] for name in ("patch", "verify")} | {
        name: bake_steps.command_of(props.get(name), name)[0] for name in ("prepare", "restore")
    }


def uses_ssm(props: Mapping[str, Any]) -> bool:
    """Whether the bake talks to Systems Manager (commands or the patch state)."""
    verify = props.get("verify") or {}
    return (
        any(props.get(name) for name in _COMMAND_STEPS)
        or bool(isinstance(verify, Mapping) and verify.get("command"))
        or _follows_patch_state(props)
    )


def _follows_patch_state(props: Mapping[str, Any]) -> bool:
    return "patch_state" in (props.get("rebake_on") or ())


def read_fingerprint(reads: Clients, inputs: dict[str, Any]) -> Problems:
    """With ``rebake_on: [patch_state]``: put the instance's patch state fingerprint in
    ``inputs[PATCH_STATE]`` (DescribeInstancePatchStates), or say how to get one."""
    inputs.pop(PATCH_STATE, None)
    if not _follows_patch_state(inputs):
        return []
    instance_id = inputs["instance_id"]
    state = read_patch_state(reads.client("ssm"), instance_id)
    if state is None:
        return [
            InvalidInputError(
                "rebake_on",
                ["patch_state"],
                f"{instance_id} has no patch state in Systems Manager yet; run a scan first "
                f"(aws ssm send-command --document-name AWS-RunPatchBaseline --parameters "
                f"Operation=Scan --instance-ids {instance_id}) or set patch: "
                "{operation: scan}",
            )
        ]
    inputs[PATCH_STATE] = state.fingerprint()
    return []


def rebake_reason(olds: Mapping[str, Any], news: Mapping[str, Any]) -> str | None:
    """ "patch state changed: 12 installed -> 19 installed (...)" when that re-bakes."""
    old, new = olds.get(PATCH_STATE), news.get(PATCH_STATE)
    if not old or not new or old == new:
        return None
    state = from_fingerprint(str(new))
    return describe_change(str(old), state) if state is not None else "patch state changed"


def check_aws(reads: Clients, inputs: Mapping[str, Any]) -> tuple[Problems, list[str]]:
    """Pre-flight of the steps asked for, read-only: the instance's SSM agent is online,
    own documents exist, no Sysprep on a Windows golden instance, the verify subnet,
    groups and type can launch. Returns the problems and the plan lines."""
    problems: Problems = []
    specs = request_specs(inputs)
    instance_id = inputs["instance_id"]
    notes = step_notes(
        instance_id, specs["patch"], specs["prepare"], specs["restore"], specs["verify"], ""
    )
    if any(specs[name] for name in _COMMAND_STEPS):
        ssm = reads.client("ssm")
        problems += sysprep_problems(reads.ec2, instance_id, specs["prepare"])
        if not agent_online(ssm, instance_id):
            field = next(name for name in _COMMAND_STEPS if specs[name])
            problems.append(
                InvalidInputError(
                    field,
                    inputs.get(field),
                    f"{instance_id} is not online in Systems Manager (DescribeInstanceInformation)"
                    "; the SSM agent must run on it with an instance profile that allows "
                    "Systems Manager (e.g. AmazonSSMManagedInstanceCore)",
                )
            )
        for name in ("prepare", "restore"):
            spec = specs[name]
            if spec is not None and spec.document not in bake_steps.SHELL_DOCUMENTS:
                problem = document_problem(ssm, spec.document, f"{name}.document")
                if problem is not None:
                    problems.append(problem)
    verify = specs["verify"]
    if verify is not None:
        problems += verify_problems(reads.ec2, verify)
    return problems, notes


def recorded_patch_state(clients: Clients, props: Mapping[str, Any]) -> dict[str, Any]:
    """After a bake: the patch state the image was made from (the patch step may have
    changed it), so the next check compares against what the image holds."""
    if not _follows_patch_state(props):
        return {}
    state = read_patch_state(clients.client("ssm"), props["instance_id"])
    return {PATCH_STATE: state.fingerprint()} if state is not None else {}
