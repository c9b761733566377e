"""moto extension: SSM Run Command, managed nodes and patch states, as AWS documents them.

moto 5.2's Run Command succeeds at once, always, for any instance and any document name;
it has no DescribeInstanceInformation, no DescribeInstancePatchStates and none of AWS's
own documents. Here, as on AWS:

- An invocation goes Pending -> InProgress -> a terminal status over successive
  GetCommandInvocation calls, and right after SendCommand it may not be visible yet
  (InvocationDoesNotExist: the API is eventually consistent).
  https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
- Tests script the outcome per (instance, document) with ``script``: Failed with an exit
  code and output, TimedOut (StatusDetails "Execution Timed Out" or "Delivery Timed Out"),
  and a reboot: the agent is out of touch while the node reboots, so for ``reboot_looks``
  DescribeInstanceInformation calls after the command ends its PingStatus is
  ConnectionLost (the agent reports in again once the OS is up).
  https://docs.aws.amazon.com/systems-manager/latest/userguide/send-commands-reboot.html
- SendCommand with ``InstanceIds`` (and no ``Targets``) runs on those nodes only: moto
  5.2 also adds every instance of the region (its target filter with no targets matches
  all), so a verify command would seem to run on the golden instance too.
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
- A command sent to a managed node whose agent is not Online (ConnectionLost, Inactive)
  is never delivered: it stays Pending until the delivery timeout, then ends TimedOut
  with StatusDetails "Delivery Timed Out" and no exit code (ResponseCode -1), whatever
  the node was scripted to do.
  https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
- Managed nodes: DescribeInstanceInformation lists an instance only once its agent is
  registered (``register_agent``) and never while it is stopped or terminated;
  SendCommand to an unregistered instance fails InvalidInstanceId; to an unknown document
  InvalidDocument.
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
- Auto-registration (``auto_register``, the moto server's default): SSM Agent, which
  Amazon's own Linux and Windows images run, registers an EC2 instance as a managed node
  once the instance has an instance profile whose role allows Systems Manager
  (AmazonSSMManagedInstanceCore). Here every running instance with an instance profile
  association is a managed node, Online; one without stays unregistered. (The policy's
  content is not modelled: any profile counts.)
  https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html
  https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html
- Patch states are set per instance (``set_patch_state``) and returned by
  DescribeInstancePatchStates; an AWS-RunPatchBaseline that succeeds records its
  operation and end time, and an Install moves the missing patches to installed (with
  NoReboot, also to installed-pending-reboot).
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_InstancePatchState.html
  https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-aws-runpatchbaseline.html
- DescribeDocument knows AWS's own Command documents (AWS-RunShellScript,
  AWS-RunPowerShellScript, AWS-RunPatchBaseline).
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeDocument.html

With tests/moto_ext/latency.py installed, a command runs for its time instead (a patch
``patch_s``, any other ``command_s`` on the latency clock), for benchmarks.

The scripted world is process-wide (in-process moto and the threaded server alike) and
cleared whenever the extension is installed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import InvalidDocument
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

from tests.moto_ext import latency, nesting

AWS_DOCUMENTS = {
    "AWS-RunShellScript": "Linux",
    "AWS-RunPowerShellScript": "Windows",
    "AWS-RunPatchBaseline": "Linux",
}
DEFAULT_BASELINE = "arn:aws:ssm:us-east-1:aws:patchbaseline/pb-0c10e657807c7a700"
_TERMINAL_DETAILS = {
    "Success": "Success",
    "Failed": "Failed",
    "TimedOut": "Execution Timed Out",
    "Cancelled": "Cancelled",
}


@dataclass
class Script:
    """How an instance runs a document: looks in each state, then the outcome."""

    status: str = "Success"
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    details: str = ""  # StatusDetails; default from the status
    unseen_looks: int = 1  # InvocationDoesNotExist right after SendCommand
    pending_looks: int = 1
    in_progress_looks: int = 1
    reboot_looks: int = 0  # agent ConnectionLost for this many looks after the end

    def status_at(self, look: int) -> str:
        """The invocation's status at GetCommandInvocation number ``look`` (0-based),
        counted after the unseen looks."""
        if look < self.pending_looks:
            return "Pending"
        if look < self.pending_looks + self.in_progress_looks:
            return "InProgress"
        return self.status


@dataclass
class _Run:
    script: Script
    document: str
    parameters: dict[str, list[str]]
    looks: int = 0
    ended: bool = False
    # With latency.py installed: when it was sent and how long it runs (clock time).
    sent_at: float | None = None
    duration_s: float = 0.0


@dataclass
class _World:
    agents: dict[str, str] = field(default_factory=dict)  # instance -> PingStatus
    offline_looks: dict[str, int] = field(default_factory=dict)
    scripts: dict[tuple[str, str], Script] = field(default_factory=dict)
    runs: dict[tuple[str, str], _Run] = field(default_factory=dict)  # (command, instance)
    patch: dict[str, dict[str, Any]] = field(default_factory=dict)
    auto_register: bool = False


_world = _World()


def reset() -> None:
    """Forget every agent, script, run and patch state."""
    global _world
    _world = _World()


def register_agent(instance_id: str, ping: str = "Online") -> None:
    """The instance's agent is registered with Systems Manager, reporting ``ping``."""
    _world.agents[instance_id] = ping


def auto_register(on: bool = True) -> None:
    """From now on, instances with an instance profile are managed nodes (see the docstring)."""
    _world.auto_register = on


def _agents(account: str, region: str) -> dict[str, str]:
    """instance id -> PingStatus of every registered agent, auto-registered ones included."""
    agents = dict(_world.agents)
    if _world.auto_register:
        backend = ec2_backends[account][region]
        for instance_id in backend.iam_instance_profile_associations:
            agents.setdefault(instance_id, "Online")
    return agents


def deregister_agent(instance_id: str) -> None:
    _world.agents.pop(instance_id, None)


def script(instance_id: str, document: str, **outcome: Any) -> Script:
    """Script how ``instance_id`` runs ``document`` from now on (see ``Script``)."""
    scripted = Script(**outcome)
    _world.scripts[(instance_id, document)] = scripted
    return scripted


def set_patch_state(instance_id: str, **counts: Any) -> None:
    """Set fields of the instance's InstancePatchState (API names: InstalledCount, ...)."""
    state = _world.patch.setdefault(instance_id, _new_patch_state(instance_id))
    state.update(counts)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _new_patch_state(instance_id: str) -> dict[str, Any]:
    now = _now()
    return {
        "InstanceId": instance_id,
        "PatchGroup": "",
        "BaselineId": DEFAULT_BASELINE,
        "InstalledCount": 0,
        "InstalledOtherCount": 0,
        "InstalledPendingRebootCount": 0,
        "InstalledRejectedCount": 0,
        "MissingCount": 0,
        "FailedCount": 0,
        "NotApplicableCount": 0,
        "Operation": "Scan",
        "OperationStartTime": now,
        "OperationEndTime": now,
    }


def _ec2_state(account: str, region: str, instance_id: str) -> str | None:
    try:
        instance = ec2_backends[account][region].get_instance_by_id(instance_id)
    except Exception:  # moto raises its own NotFound; an unknown id is simply not EC2's
        return None
    return str(instance.state) if instance is not None else None


def _patched(run: _Run, instance_id: str) -> None:
    """AWS-RunPatchBaseline succeeded: record the operation (an Install installs)."""
    state = _world.patch.setdefault(instance_id, _new_patch_state(instance_id))
    operation = (run.parameters.get("Operation") or ["Scan"])[0]
    state["Operation"] = operation
    state["OperationStartTime"] = state["OperationEndTime"] = _now()
    if operation == "Install":
        moved = int(state.get("MissingCount") or 0)
        state["InstalledCount"] = int(state.get("InstalledCount") or 0) + moved
        state["MissingCount"] = 0
        if (run.parameters.get("RebootOption") or ["RebootIfNeeded"])[0] == "NoReboot":
            pending = int(state.get("InstalledPendingRebootCount") or 0)
            state["InstalledPendingRebootCount"] = pending + moved
        else:
            state["InstalledPendingRebootCount"] = 0


_original_send = SimpleSystemManagerResponse.send_command
_original_invocation = SimpleSystemManagerResponse.get_command_invocation
_original_describe_document = SimpleSystemManagerBackend.describe_document


def _send_command(self: SimpleSystemManagerResponse) -> Any:
    document = str(self._get_param("DocumentName") or "")
    if document not in AWS_DOCUMENTS and document not in self.ssm_backend._documents:
        raise InvalidDocument("The specified document does not exist.")
    instance_ids = list(self._get_param("InstanceIds", []))
    agents = _agents(self.current_account, self.region)
    for instance_id in instance_ids:
        if instance_id not in agents:
            raise _client_error(
                "InvalidInstanceId", f"Instances [[{instance_id}]] not in a valid state for account"
            )
    result = _original_send(self)
    command = result.result["Command"]
    command["Status"] = "Pending"
    if not self._get_param("Targets"):
        _only_on(self.ssm_backend, command, instance_ids)
    parameters = dict(self._get_param("Parameters", {}) or {})
    for instance_id in instance_ids:
        scripted = _world.scripts.get((instance_id, document), Script())
        if agents[instance_id] != "Online":
            scripted = _undelivered(scripted)
        run = _Run(scripted, document, parameters)
        timing = latency.timed()
        if timing is not None:  # the command takes (virtual) time, not looks
            lat, clock = timing
            run.sent_at = clock()
            run.duration_s = lat.patch_s if document == "AWS-RunPatchBaseline" else lat.command_s
        _world.runs[(command["CommandId"], instance_id)] = run
    return result


def _undelivered(scripted: Script) -> Script:
    """What an agent out of touch makes of any command: Pending, then Delivery Timed Out."""
    return Script(
        status="TimedOut",
        exit_code=-1,
        details="Delivery Timed Out",
        unseen_looks=scripted.unseen_looks,
        pending_looks=scripted.pending_looks + scripted.in_progress_looks,
        in_progress_looks=0,
    )


def _only_on(backend: Any, command: dict[str, Any], instance_ids: list[str]) -> None:
    """The command (response and stored model) targets ``instance_ids`` and no others."""
    command["InstanceIds"] = list(instance_ids)
    command["TargetCount"] = command["CompletedCount"] = len(instance_ids)
    for stored in backend._commands:
        if stored.command_id == command["CommandId"]:
            stored.instance_ids = list(instance_ids)
            stored.invocations = [i for i in stored.invocations if i["InstanceId"] in instance_ids]
            stored.target_count = stored.completed_count = len(instance_ids)


def _get_command_invocation(self: SimpleSystemManagerResponse) -> Any:
    key = (str(self._get_param("CommandId")), str(self._get_param("InstanceId")))
    run = _world.runs.get(key)
    if run is None:
        return _original_invocation(self)
    run.looks += 1
    look = run.looks - 1 - run.script.unseen_looks
    timing = latency.timed()
    if run.sent_at is not None and timing is not None:
        running = timing[1]() - run.sent_at < run.duration_s
        status = "InProgress" if running else run.script.status
    elif look < 0:
        raise _client_error("InvocationDoesNotExist", "")
    else:
        status = run.script.status_at(look)
    result = _original_invocation(self)
    invocation = dict(result.result)  # type: ignore[call-overload]
    terminal = status not in ("Pending", "InProgress")
    details = status
    if terminal:
        details = run.script.details or _TERMINAL_DETAILS.get(status, status)
    invocation.update(
        {
            "DocumentName": run.document,
            "Status": status,
            "StatusDetails": details,
            "ResponseCode": run.script.exit_code if terminal else -1,
            "StandardOutputContent": run.script.stdout[:24000] if terminal else "",
            "StandardErrorContent": run.script.stderr[:8000] if terminal else "",
        }
    )
    if terminal and not run.ended:
        run.ended = True
        if run.script.reboot_looks:
            _world.offline_looks[key[1]] = run.script.reboot_looks
        if status == "Success" and run.document == "AWS-RunPatchBaseline":
            _patched(run, key[1])
    return ActionResult(invocation)


def _describe_instance_information(self: SimpleSystemManagerResponse) -> Any:
    wanted: set[str] | None = None
    for item in self._get_param("Filters", []) or []:
        if item.get("Key") == "InstanceIds":
            wanted = set(item.get("Values") or [])
    for item in self._get_param("InstanceInformationFilterList", []) or []:
        if item.get("key") == "InstanceIds":
            wanted = set(item.get("valueSet") or [])
    found = []
    for instance_id, ping in sorted(_agents(self.current_account, self.region).items()):
        if wanted is not None and instance_id not in wanted:
            continue
        state = _ec2_state(self.current_account, self.region, instance_id)
        if state in ("stopped", "stopping", "terminated", "shutting-down"):
            continue  # AWS: "does not return information for nodes that are Stopped"
        offline = _world.offline_looks.get(instance_id, 0)
        if offline > 0:
            _world.offline_looks[instance_id] = offline - 1
            ping = "ConnectionLost"
        found.append(
            {
                "InstanceId": instance_id,
                "PingStatus": ping,
                "LastPingDateTime": _now(),
                "AgentVersion": "3.3.1000.0",
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "ResourceType": "EC2Instance",
            }
        )
    return ActionResult({"InstanceInformationList": found})


def _describe_instance_patch_states(self: SimpleSystemManagerResponse) -> Any:
    ids = list(self._get_param("InstanceIds", []) or [])
    states = [dict(_world.patch[i]) for i in ids if i in _world.patch]
    return ActionResult({"InstancePatchStates": states})


def _describe_document(
    self: SimpleSystemManagerBackend, name: str, document_version: str, version_name: str
) -> dict[str, Any]:
    if name in AWS_DOCUMENTS and name not in self._documents:
        return {
            "Name": name,
            "Owner": "Amazon",
            "Status": "Active",
            "DocumentType": "Command",
            "DocumentFormat": "JSON",
            "SchemaVersion": "2.2",
            "DocumentVersion": "1",
            "LatestVersion": "1",
            "DefaultVersion": "1",
            "PlatformTypes": [AWS_DOCUMENTS[name]],
        }
    return _original_describe_document(self, name, document_version, version_name)


def _client_error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message or code)


def install() -> None:
    """Patch moto for good (a moto server process that serves tests)."""
    reset()
    response = SimpleSystemManagerResponse
    response.send_command = _send_command  # type: ignore[method-assign]
    response.get_command_invocation = _get_command_invocation  # type: ignore[method-assign]
    response.describe_instance_information = _describe_instance_information  # type: ignore[attr-defined]
    response.describe_instance_patch_states = _describe_instance_patch_states  # type: ignore[attr-defined]
    SimpleSystemManagerBackend.describe_document = _describe_document  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto back as it was."""
    response = SimpleSystemManagerResponse
    response.send_command = _original_send  # type: ignore[method-assign]
    response.get_command_invocation = _original_invocation  # type: ignore[method-assign]
    del response.describe_instance_information  # type: ignore[attr-defined]
    del response.describe_instance_patch_states  # type: ignore[attr-defined]
    SimpleSystemManagerBackend.describe_document = _original_describe_document  # type: ignore[method-assign]
    reset()


# Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests.
installed = nesting(install, uninstall)
