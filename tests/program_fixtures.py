"""Run ``__main__.py`` under Pulumi mocks with a stack's config, as the engine would.

``engine_config`` turns a ``Pulumi.<stack>.yaml`` into what the CLI hands the
program (every value a string; lists and maps as JSON). ``run_program`` evaluates
the program with it (a preview) and returns the stack's exports; ``ProgramMocks``
records each registration and answers like the providers would: ids, auto-names,
a baked image, launch template versions, and the outputs of referenced stacks.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml  # type: ignore[import-untyped]
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor

ROOT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "bakery"

BAKED_IMAGE = "pulumi-python:dynamic/bakery:BakedImage"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
GROUP = "aws:autoscaling/group:Group"
AMI_COPY = "aws:ec2/amiCopy:AmiCopy"
LAUNCH_PERMISSION = "aws:ec2/amiLaunchPermission:AmiLaunchPermission"
INSTANCE_REFRESH = "pulumi-python:dynamic/bakery:InstanceRefresh"
BLUE_GREEN = "pulumi-python:dynamic/bakery:BlueGreenCutover"

BAKED_AMI = "ami-0bbbbbbbbbbbbbbb1"
BAKED_SNAPSHOTS = ["snap-0bbbbbbbbbbbbbbb1", "snap-0bbbbbbbbbbbbbbb2"]
STAGING_AMI = "ami-05a5a5a5a5a5a5a51"
STAGING_SNAPSHOTS = ["snap-05a5a5a5a5a5a5a51"]
COPIED_AMI = "ami-0ccccccccccccccc1"


def stack_files() -> list[Path]:
    """Every ``Pulumi.<stack>.yaml`` of the project."""
    return sorted(ROOT_DIR.glob("Pulumi.*.yaml"))


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_yaml(stack: str) -> dict[str, Any]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml``, as YAML values."""
    loaded = yaml.safe_load((ROOT_DIR / f"Pulumi.{stack}.yaml").read_text())
    return dict(loaded.get("config") or {})


def _engine_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config as the CLI passes it to the program: strings, objects as JSON."""
    return {key: _engine_value(value) for key, value in config.items()}


@dataclass
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]
    custom: bool


class ProgramMocks(pulumi.runtime.Mocks):
    """Records registrations; answers with inputs plus what the providers would compute."""

    def __init__(self, stacks: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.registrations: list[Registration] = []
        # (type, name) -> the inputs the engine would receive as secrets.
        self.secret_inputs: dict[tuple[str, str], set[str]] = {}
        self.stacks = dict(
            stacks
            if stacks is not None
            else {
                "organization/bakery/staging": {
                    "image_id": STAGING_AMI,
                    "snapshot_ids": STAGING_SNAPSHOTS,
                    "region": "us-east-1",
                }
            }
        )

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registrations.append(
            Registration(args.typ, args.name, dict(args.inputs), bool(args.custom))
        )
        outs = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            name = args.inputs["name"]
            if name not in self.stacks:
                raise ValueError(f"no stack {name}")
            return name, {"name": name, "outputs": dict(self.stacks[name])}
        if args.typ == BAKED_IMAGE:
            outs.update(
                image_id=BAKED_AMI,
                snapshot_ids=BAKED_SNAPSHOTS,
                name=f"{args.name}-0123456789",
                source_instance_id=args.inputs["instance_id"],
                downtime_seconds=42.0,
                image_ids={str(args.inputs.get("region")): BAKED_AMI},
            )
            return BAKED_AMI, outs
        if args.typ.endswith(":FleetIdentity"):  # its check makes the id
            outs.update(fleet_id=f"{args.inputs['legacy_key']}#0123456789ab", adopted=False)
            return outs["fleet_id"], outs
        if args.typ.startswith("aws:"):
            outs.setdefault("name", outs.get("namePrefix", f"{args.name}-") + "mock")
            outs["arn"] = f"arn:aws:mock:us-east-1:123456789012:{args.name}"
        if args.typ == LAUNCH_TEMPLATE:
            outs["latestVersion"] = 1
            return "lt-0mock", outs
        if args.typ == AMI_COPY:
            outs["ebsBlockDevices"] = [{"snapshotId": "snap-0ccccccccccccccc1"}]
            return COPIED_AMI, outs
        if args.typ == INSTANCE_REFRESH:
            outs.update(refresh_id="", status="AlreadyCurrent")
        if args.typ == BLUE_GREEN:
            outs.update(healthy_instances=[], retired_groups=[])
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def of(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.typ == typ]

    def one(self, typ: str) -> Registration:
        found = self.of(typ)
        assert len(found) == 1, (typ, [r.typ for r in self.registrations])
        return found[0]

    def types(self) -> set[str]:
        return {r.typ for r in self.registrations}


def _is_secret(value: Any) -> bool:
    if not value.HasField("struct_value"):
        return False
    sig = value.struct_value.fields.get(rpc._special_sig_key)
    return sig is not None and sig.string_value == rpc._special_secret_sig


class _SecretsMonitor(MockMonitor):
    """Notes which inputs of each registration are secrets (the mocks see them unwrapped)."""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        secret = {k for k, v in request.object.fields.items() if _is_secret(v)}
        assert isinstance(self.mocks, ProgramMocks)
        self.mocks.secret_inputs[(request.type, request.name)] = secret
        return super().RegisterResource(request)


def run_program(
    stack: str,
    config: Mapping[str, Any],
    mocks: ProgramMocks,
    *,
    preview: bool = True,
    secret_keys: Iterable[str] = (),
) -> dict[str, Any]:
    """Evaluate ``__main__.py`` for ``stack`` with ``config`` (YAML values); its exports."""
    runtime_settings.ROOT.set(None)  # a fresh root stack: exports of this run only
    pulumi.runtime.set_all_config(engine_config(config), list(secret_keys))
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=preview, monitor=_SecretsMonitor(mocks)
    )
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> Any:
        runpy.run_path(str(ROOT_DIR / "__main__.py"), run_name="__main__")
        root = runtime_settings.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}))
        return pulumi.Output.all(**outputs).apply(exports.update)

    program()
    return exports


def fresh_mocks() -> Iterator[ProgramMocks]:
    """Body of a ``program_mocks`` fixture: mocks for one run, config reset afterwards."""
    yield ProgramMocks()
    pulumi.runtime.set_all_config({}, [])
