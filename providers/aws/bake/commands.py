"""Commands on the golden instance through SSM Run Command: patch, prepare, restore.

A bake step's command runs once per bake, even across retries: right after SendCommand
its id is tagged on the instance (``bakery:command:<step>`` = ``<bake id> <command id>``),
and a retry of the same bake finds the tag and waits for that command instead of sending
another (a patch run twice in parallel fights over the package manager). A command of
this bake that already ended other than Success is sent again: the retry is the user's
fix.

SSM facts relied on:
- Invocation statuses Pending, InProgress, Delayed (retry), Success, and Failed,
  TimedOut, Cancelled, Cancelling (Systems Manager User Guide, "Understanding command
  statuses"); ``StatusDetails`` tells a delivery time-out from an execution one.
- GetCommandInvocation is eventually consistent: right after SendCommand it may answer
  InvocationDoesNotExist (SSM API reference, GetCommandInvocation; botocore's
  ``CommandExecuted`` waiter retries it). ``StandardOutputContent`` holds the first
  24,000 characters of stdout, ``ResponseCode`` -1 means the command never ran.
- SendCommand ``TimeoutSeconds`` is the delivery deadline (30 .. 2592000 s);
  ``Comment`` at most 100 characters (SSM API reference, SendCommand).
- SendCommand refuses an instance whose agent is not registered (InvalidInstanceId), so
  a command first waits for the agent to be Online (DescribeInstanceInformation).
- AWS-RunPatchBaseline with RebootOption RebootIfNeeded reboots the node when it
  installed patches (Systems Manager User Guide, "SSM Command document for patching:
  AWS-RunPatchBaseline"); during a reboot the agent is out of touch ("Handling reboots
  when running commands"), so ``patch_instance`` returns only once it is Online again
  and the instance is running: nothing is stopped while it boots.

AWS calls, in order: ssm DescribeInstanceInformation, ec2 DescribeInstances (the tag),
ssm GetCommandInvocation (an adopted command), SendCommand, ec2 CreateTags, ssm
GetCommandInvocation (the wait); ``document_problem``: ssm DescribeDocument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.errors import CommandFailedError, InvalidInputError, WaitFailedError
from providers.aws.rules.bake_steps import CommandSpec, PatchSpec
from providers.aws.wait_table import COMMAND_FAILED, WAITS
from providers.aws.waits import Outcome, Pacing, Probe, wait_for

Log = Callable[[str], None]

# How long the agent has to pick a command up (SendCommand TimeoutSeconds): an instance
# whose agent is Online takes it within seconds; a minute-long hiccup must not lose it.
DELIVERY_TIMEOUT_S = 600
# The wait for a command: its own timeout, plus delivery, plus this for a reboot.
COMMAND_MARGIN_S = 300.0
# After a patch's reboot: time for the OS to boot and the agent to report in.
AGENT_RETURN_S = 900.0
# Before sending: an agent that is not Online now has this long to report in.
AGENT_READY_S = 300.0
TAIL_LINES = 20
TAIL_CHARS = 4000
COMMENT_MAX = 100


@dataclass(frozen=True)
class CommandResult:
    """How a step's command ended (always Success when returned; failures raise)."""

    command_id: str
    status: str
    exit_code: int | None
    output_tail: str
    adopted: bool


def agent_online(ssm: Any, instance_id: str) -> bool:
    """Whether the instance's SSM Agent is registered and reports PingStatus Online.

    AWS calls: ssm DescribeInstanceInformation (filter InstanceIds).
    """
    response = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )
    found = response.get("InstanceInformationList") or []
    return any(i.get("PingStatus") == "Online" for i in found)


def wait_agent_online(
    ssm: Any, instance_id: str, *, pacing: Pacing, timeout_s: float, log: Log | None
) -> None:
    """Wait until the instance's agent is Online (after a boot or a reboot).

    Raises:
        WaitTimeoutError: still not Online at ``timeout_s``; the message names the
            instance, the last PingStatus and what the agent needs.
    """
    waiter = WAITS["agent_online"]
    wait_for(
        waiter,
        waiter.probe(ssm, [instance_id]),
        resource=f"SSM Agent of instance {instance_id}",
        pacing=pacing,
        spec=waiter.spec.with_deadline(timeout_s),
        log=log,
    )


def run_command(
    ssm: Any,
    ec2: Any,
    instance_id: str,
    spec: PatchSpec | CommandSpec,
    *,
    bake_id: str,
    step: str,
    pacing: Pacing,
    log: Log,
) -> CommandResult:
    """Run ``spec``'s document on the instance once for this bake, and wait for it.

    Args:
        spec: the document, its parameters and its timeout (rules/bake_steps.py).
        bake_id: the bake; a command tagged with it is adopted, not sent again.
        step: the bake step ("patch", "prepare", "restore"), for the tag and messages.

    Returns:
        The command's id, status (Success), exit code and last lines of output.

    Raises:
        CommandFailedError: the command ended Failed, TimedOut, Cancelled or Cancelling.
        WaitTimeoutError: the agent never came Online, or the command was still running
            at ``spec.timeout_s`` plus delivery (it goes on in AWS).
    """
    key = tags.command_tag(step)
    command_id = _adoptable(ssm, ec2, instance_id, key, bake_id, step, log)
    adopted = command_id is not None
    if command_id is None:
        if not agent_online(ssm, instance_id):
            wait_agent_online(ssm, instance_id, pacing=pacing, timeout_s=AGENT_READY_S, log=log)
        command_id = _send(ssm, instance_id, spec, bake_id, step)
        ec2.create_tags(
            Resources=[instance_id], Tags=[{"Key": key, "Value": f"{bake_id} {command_id}"}]
        )
        log(f"{step}: sent {spec.document} to {instance_id} as command {command_id}")
    last = _wait(ssm, instance_id, command_id, spec, step, pacing, log)
    return CommandResult(
        command_id, str(last.get("Status")), _exit_code(last), output_tail(last), adopted
    )


def patch_instance(
    ssm: Any,
    ec2: Any,
    instance_id: str,
    spec: PatchSpec,
    *,
    bake_id: str,
    pacing: Pacing,
    log: Log,
) -> CommandResult:
    """Run AWS-RunPatchBaseline (step "patch"); after an install that may reboot, wait
    for the agent to be Online and the instance running, so the bake stops nothing
    while it boots.

    AWS calls: those of ``run_command``, then ssm DescribeInstanceInformation and ec2
    DescribeInstances until both are back.
    """
    result = run_command(
        ssm, ec2, instance_id, spec, bake_id=bake_id, step="patch", pacing=pacing, log=log
    )
    if spec.operation == "install" and spec.reboot == "if_needed":
        wait_agent_online(ssm, instance_id, pacing=pacing, timeout_s=AGENT_RETURN_S, log=log)
        running = WAITS["instance_running"]
        wait_for(
            running,
            running.probe(ec2, [instance_id]),
            resource=f"instance {instance_id}",
            pacing=pacing,
            log=log,
        )
    return result


def document_problem(ssm: Any, name: str, field: str) -> InvalidInputError | None:
    """Check-time pre-flight: the problem with the SSM document ``name``, or None.

    AWS calls: ssm DescribeDocument. Errors other than InvalidDocument propagate (the
    caller's reachability check reports those).
    """
    try:
        document = ssm.describe_document(Name=name)["Document"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidDocument":
            raise
        return InvalidInputError(
            field,
            name,
            "no SSM document of this name in the region; name an AWS one "
            "(AWS-RunShellScript, AWS-RunPowerShellScript) or create yours with "
            "`aws ssm create-document --document-type Command` first",
        )
    kind = document.get("DocumentType") or "Command"
    if kind != "Command":
        return InvalidInputError(
            field, name, f"is a {kind} document; Run Command needs a Command document"
        )
    status = document.get("Status") or "Active"
    if status != "Active":
        return InvalidInputError(
            field, name, f"the document is {status}; wait until it is Active or fix it"
        )
    return None


def output_tail(invocation: Mapping[str, Any]) -> str:
    """The last lines of a command's stdout and stderr, capped in length.

    Only what the command itself printed (never its parameters).
    """
    text = "\n".join(
        part.rstrip("\n")
        for part in (
            str(invocation.get("StandardOutputContent") or ""),
            str(invocation.get("StandardErrorContent") or ""),
        )
        if part.strip()
    )
    tail = "\n".join(text.splitlines()[-TAIL_LINES:])
    return tail if len(tail) <= TAIL_CHARS else "..." + tail[-TAIL_CHARS:]


def _adoptable(
    ssm: Any, ec2: Any, instance_id: str, key: str, bake_id: str, step: str, log: Log
) -> str | None:
    """The command this bake already sent for the step, unless it ended in failure."""
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    found = [i for r in reservations for i in r["Instances"]]
    value = tags.to_dict(found[0].get("Tags") if found else None).get(key, "")
    owner, _, command_id = value.partition(" ")
    if owner != bake_id or not command_id:
        return None
    try:
        status = str(
            ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id).get("Status")
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "InvocationDoesNotExist":
            status = "Pending"  # not visible yet: a crash right after SendCommand
        elif code == "InvalidCommandId":
            log(f"{step}: command {command_id} of this bake is gone; sending it again")
            return None
        else:
            raise
    if status in COMMAND_FAILED:
        log(f"{step}: command {command_id} of this bake ended {status}; sending it again")
        return None
    log(f"{step}: adopting command {command_id} of this bake ({status})")
    return command_id


def _send(
    ssm: Any, instance_id: str, spec: PatchSpec | CommandSpec, bake_id: str, step: str
) -> str:
    response = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName=spec.document,
        Parameters=spec.parameters(),
        TimeoutSeconds=DELIVERY_TIMEOUT_S,
        Comment=f"bakery {step} of bake {bake_id}"[:COMMENT_MAX],
    )
    return str(response["Command"]["CommandId"])


def _wait(
    ssm: Any,
    instance_id: str,
    command_id: str,
    spec: PatchSpec | CommandSpec,
    step: str,
    pacing: Pacing,
    log: Log,
) -> Mapping[str, Any]:
    """Wait for the invocation to end; the last GetCommandInvocation response."""
    waiter = WAITS["patch_done" if isinstance(spec, PatchSpec) else "command_done"]
    seen: dict[str, Mapping[str, Any]] = {}
    read = waiter.read
    assert read is not None

    def probe() -> tuple[Outcome, object]:
        try:
            response = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            outcome = waiter.errors.get(code)
            if outcome is None:
                raise
            return outcome, "not visible yet"
        seen["last"] = response
        observed = read(response)
        return waiter.acceptors.classify(observed.states), observed.shown

    deadline = spec.timeout_s + DELIVERY_TIMEOUT_S + COMMAND_MARGIN_S
    run: Probe = probe
    try:
        wait_for(
            waiter,
            run,
            resource=f"{step} command {command_id} on {instance_id}",
            pacing=pacing,
            spec=waiter.spec.with_deadline(deadline),
            log=log,
        )
    except WaitFailedError as exc:
        last = seen.get("last", {})
        raise CommandFailedError(
            step,
            instance_id,
            command_id,
            str(last.get("Status") or exc.state),
            _exit_code(last),
            output_tail(last),
            str(last.get("StatusDetails") or ""),
        ) from exc
    return seen["last"]


def _exit_code(invocation: Mapping[str, Any]) -> int | None:
    """ResponseCode, or None when the command never ran (-1) or none was given."""
    code = invocation.get("ResponseCode")
    if code is None or int(code) == -1:
        return None
    return int(code)
