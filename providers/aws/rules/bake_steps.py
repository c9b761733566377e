"""The steps around the image, as data: patch, prepare, restore, verify, rebake_on.

Each input arrives as a plain mapping (stack config, props) and is judged here, once,
for every caller: ``*_of(value, field)`` returns the spec (or ``None`` when unset) and
the problems found, each naming the field and the fix. The workflows
(``bake/commands.py``, ``bake/verify.py``) take the specs and never judge input.

SSM facts relied on (pages cited where the rule is):
- AWS-RunPatchBaseline parameters ``Operation`` (Scan | Install), ``RebootOption``
  (RebootIfNeeded | NoReboot) and ``BaselineOverride`` (an S3 URI of a JSON baseline)
  (Systems Manager User Guide, "SSM Command document for patching: AWS-RunPatchBaseline").
- AWS-RunShellScript / AWS-RunPowerShellScript take ``commands`` (a list of lines)
  and ``executionTimeout`` in seconds as a string, default 3600, at most 172800
  (the documents' own parameter definitions, shown by DescribeDocument).
- SendCommand ``TimeoutSeconds`` (30 to 2592000) is the *delivery* deadline: a command
  not started by then does not run (SSM API reference, SendCommand).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.aws.errors import InvalidInputError

Problems = list[InvalidInputError]

PATCH_OPERATIONS = {"install": "Install", "scan": "Scan"}
PATCH_REBOOTS = {"if_needed": "RebootIfNeeded", "never": "NoReboot"}
SHELL_DOCUMENTS = ("AWS-RunShellScript", "AWS-RunPowerShellScript")
REBAKE_ON = ("patch_state",)
# Document names: 3-128 of letters, digits, _ - . (SSM API reference, CreateDocument
# "Name"); a shared document may be named by its ARN.
DOCUMENT_NAME = re.compile(
    r"^(?:arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:document/)?[A-Za-z0-9_.\-]{3,128}$"
)
SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$")
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+$")
# executionTimeout of the shell documents: at most 172800 s (48 hours).
MAX_COMMAND_S = 172800.0
MIN_COMMAND_S = 30.0
# A patch run is waited for at most this long (the document's step allows 7200 s;
# a reboot and the agent's return come on top).
MAX_PATCH_S = 4 * 3600.0


@dataclass(frozen=True)
class PatchSpec:
    """Run AWS-RunPatchBaseline before the hold and the stop."""

    operation: str = "install"
    reboot: str = "if_needed"
    baseline_override: str | None = None
    timeout_s: float = 3600.0

    @property
    def document(self) -> str:
        return "AWS-RunPatchBaseline"

    def parameters(self) -> dict[str, list[str]]:
        """SendCommand ``Parameters`` of AWS-RunPatchBaseline."""
        params = {
            "Operation": [PATCH_OPERATIONS[self.operation]],
            "RebootOption": [PATCH_REBOOTS[self.reboot]],
        }
        if self.baseline_override:
            params["BaselineOverride"] = [self.baseline_override]
        return params


@dataclass(frozen=True)
class CommandSpec:
    """Commands run on an instance through SSM Run Command (prepare, restore, verify)."""

    commands: tuple[str, ...] = ()
    document: str = "AWS-RunShellScript"
    timeout_s: float = 600.0

    def parameters(self) -> dict[str, list[str]]:
        """SendCommand ``Parameters``: ``commands`` (and, for the shell documents,
        ``executionTimeout``); an own document gets ``commands`` only when given."""
        params: dict[str, list[str]] = {}
        if self.commands:
            params["commands"] = list(self.commands)
        if self.document in SHELL_DOCUMENTS:
            params["executionTimeout"] = [str(int(self.timeout_s))]
        return params


@dataclass(frozen=True)
class VerifySpec:
    """Launch one instance from the new image and prove it boots before handing it on."""

    subnet_id: str
    instance_type: str | None = None
    security_group_ids: tuple[str, ...] = ()
    instance_profile: str | None = None
    associate_public_ip: bool = False
    command: CommandSpec | None = None
    timeout_s: float = 900.0


def _problem(field: str, value: Any, fix: str) -> InvalidInputError:
    return InvalidInputError(field, value, fix)


def _mapping(value: Any, field: str, allowed: tuple[str, ...]) -> tuple[dict[str, Any], Problems]:
    if not isinstance(value, Mapping):
        return {}, [_problem(field, value, f"expected a map with keys {', '.join(allowed)}")]
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        return {}, [
            _problem(
                f"{field}.{unknown[0]}",
                value[unknown[0]],
                f"unknown key; {field} takes {', '.join(allowed)}",
            )
        ]
    return {k: v for k, v in value.items() if v is not None}, []


def _seconds(value: Any, field: str, low: float, high: float) -> tuple[float, Problems]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return low, [_problem(field, value, f"expected seconds from {low:.0f} to {high:.0f}")]
    return float(value), []


def _choice(value: Any, field: str, choices: Mapping[str, str] | tuple[str, ...]) -> Problems:
    if value in choices:
        return []
    return [_problem(field, value, f"expected one of {', '.join(choices)}")]


def patch_of(value: Any, field: str = "patch") -> tuple[PatchSpec | None, Problems]:
    """``patch: {operation, reboot, baseline_override, timeout_s}`` (or unset)."""
    if value is None:
        return None, []
    keys = ("operation", "reboot", "baseline_override", "timeout_s")
    raw, problems = _mapping(value, field, keys)
    if problems:
        return None, problems
    operation = raw.get("operation", "install")
    reboot = raw.get("reboot", "if_needed")
    problems += _choice(operation, f"{field}.operation", PATCH_OPERATIONS)
    problems += _choice(reboot, f"{field}.reboot", PATCH_REBOOTS)
    override = raw.get("baseline_override")
    if override is not None and not (isinstance(override, str) and S3_URI.match(override)):
        problems.append(
            _problem(
                f"{field}.baseline_override",
                override,
                "expected the S3 URI of a patch baseline JSON, like s3://bucket/baseline.json",
            )
        )
    timeout, bad = _seconds(raw.get("timeout_s", 3600.0), f"{field}.timeout_s", 60.0, MAX_PATCH_S)
    problems += bad
    if problems:
        return None, problems
    return PatchSpec(str(operation), str(reboot), override, timeout), []


def command_of(value: Any, field: str) -> tuple[CommandSpec | None, Problems]:
    """``{commands, document, timeout_s}`` for prepare, restore and verify.command."""
    if value is None:
        return None, []
    raw, problems = _mapping(value, field, ("commands", "document", "timeout_s"))
    if problems:
        return None, problems
    document = raw.get("document", "AWS-RunShellScript")
    if not (isinstance(document, str) and DOCUMENT_NAME.match(document)):
        problems.append(
            _problem(
                f"{field}.document",
                document,
                "expected AWS-RunShellScript, AWS-RunPowerShellScript or your document's name",
            )
        )
    commands = raw.get("commands", [])
    if isinstance(commands, str):
        commands = [commands]
    if not isinstance(commands, (list, tuple)) or not all(
        isinstance(c, str) and c.strip() for c in commands
    ):
        problems.append(_problem(f"{field}.commands", commands, "expected a list of command lines"))
    elif not commands and document in SHELL_DOCUMENTS:
        problems.append(
            _problem(f"{field}.commands", commands, f"{document} needs at least one command")
        )
    timeout, bad = _seconds(
        raw.get("timeout_s", 600.0), f"{field}.timeout_s", MIN_COMMAND_S, MAX_COMMAND_S
    )
    problems += bad
    if problems:
        return None, problems
    return CommandSpec(tuple(commands), str(document), timeout), []


def verify_of(value: Any, field: str = "verify") -> tuple[VerifySpec | None, Problems]:
    """``verify: {subnet_id, instance_type, security_group_ids, instance_profile,
    associate_public_ip, command, timeout_s}`` (or unset)."""
    if value is None:
        return None, []
    keys = (
        "subnet_id",
        "instance_type",
        "security_group_ids",
        "instance_profile",
        "associate_public_ip",
        "command",
        "timeout_s",
    )
    raw, problems = _mapping(value, field, keys)
    if problems:
        return None, problems
    subnet = raw.get("subnet_id")
    if not (isinstance(subnet, str) and SUBNET_ID.match(subnet)):
        problems.append(
            _problem(
                f"{field}.subnet_id",
                subnet,
                "required: the subnet to launch the test instance in, like subnet-0123abcd",
            )
        )
    instance_type = raw.get("instance_type")
    if instance_type is not None and not (
        isinstance(instance_type, str) and INSTANCE_TYPE.match(instance_type)
    ):
        problems.append(
            _problem(f"{field}.instance_type", instance_type, "expected a type like t3.micro")
        )
    groups = raw.get("security_group_ids", [])
    if not isinstance(groups, (list, tuple)) or not all(
        isinstance(g, str) and SECURITY_GROUP_ID.match(g) for g in groups
    ):
        problems.append(
            _problem(f"{field}.security_group_ids", groups, "expected ids like sg-0123abcd")
        )
    profile = raw.get("instance_profile")
    if profile is not None and not (isinstance(profile, str) and profile.strip()):
        problems.append(
            _problem(f"{field}.instance_profile", profile, "expected a profile name or ARN")
        )
    public = raw.get("associate_public_ip", False)
    if not isinstance(public, bool):
        problems.append(_problem(f"{field}.associate_public_ip", public, "expected true or false"))
    command, bad = command_of(raw.get("command"), f"{field}.command")
    problems += bad
    if command is not None and profile is None:
        # A new instance's SSM Agent registers only with an instance profile that allows
        # Systems Manager (Systems Manager User Guide, "Configure instance permissions").
        problems.append(
            _problem(
                f"{field}.instance_profile",
                None,
                "required with verify.command: the test instance's SSM Agent needs an "
                "instance profile that allows Systems Manager (AmazonSSMManagedInstanceCore)",
            )
        )
    timeout, bad = _seconds(raw.get("timeout_s", 900.0), f"{field}.timeout_s", 60.0, 7200.0)
    problems += bad
    if problems:
        return None, problems
    return (
        VerifySpec(
            subnet_id=str(subnet),
            instance_type=instance_type,
            security_group_ids=tuple(groups),
            instance_profile=profile,
            associate_public_ip=public,
            command=command,
            timeout_s=timeout,
        ),
        [],
    )


def rebake_on_of(value: Any, field: str = "rebake_on") -> tuple[tuple[str, ...], Problems]:
    """``rebake_on: [patch_state]``: what of the instance, beside ``triggers``, re-bakes."""
    if value is None:
        return (), []
    if not isinstance(value, (list, tuple)):
        return (), [_problem(field, value, f"expected a list of {', '.join(REBAKE_ON)}")]
    bad = [v for v in value if v not in REBAKE_ON]
    if bad:
        return (), [_problem(field, bad[0], f"expected one of {', '.join(REBAKE_ON)}")]
    return tuple(dict.fromkeys(value)), []
