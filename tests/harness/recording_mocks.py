"""Pulumi mocks that record: each registration with the options the engine would get.

``RecordingMocks`` records every resource registration with the options the engine
would receive (ignore/replace-on changes, retain-on-delete, delete-before-replace)
and answers with plausible outputs; nothing runs. ``OptionsMonitor`` is what hands
the options over (``MockResourceArgs`` has none); the moto engine uses it too.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

from tests.conftest import REGION

DYNAMIC = "pulumi-python:dynamic/"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
GROUP = "aws:autoscaling/group:Group"


@dataclass
class Registration:
    """One RegisterResource as the engine would receive it."""

    typ: str
    name: str
    inputs: dict[str, Any]
    options: dict[str, Any]


def _options(request: Any) -> dict[str, Any]:
    return {
        "parent": request.parent,
        "ignore_changes": list(request.ignoreChanges),
        "replace_on_changes": list(request.replaceOnChanges),
        "retain_on_delete": bool(request.retainOnDelete),
        "delete_before_replace": bool(request.deleteBeforeReplace),
    }


class OptionsMonitor(MockMonitor):
    """Hands each registration's options to the mocks (MockResourceArgs has none)."""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        current = self.mocks.current  # type: ignore[attr-defined]
        current.options = _options(request)
        current.urn = self.make_urn(request.parent, request.type, request.name)
        return super().RegisterResource(request)


def auto_name(inputs: dict[str, Any], name: str) -> str:
    """What the aws provider's auto-naming does: name, else prefix + random suffix."""
    if inputs.get("name"):
        return str(inputs["name"])
    return f"{inputs.get('namePrefix') or name + '-'}{uuid.uuid4().hex[:8]}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records registrations; answers with inputs plus plausible computed outputs."""

    def __init__(self) -> None:
        self.registrations: list[Registration] = []
        self.current = threading.local()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        options = getattr(self.current, "options", {})
        self.registrations.append(Registration(args.typ, args.name, dict(args.inputs), options))
        outs = dict(args.inputs)
        if args.typ.startswith("aws:"):
            outs["name"] = auto_name(args.inputs, args.name)
            outs["arn"] = f"arn:aws:mock:{REGION}:123456789012:{args.name}"
        if args.typ == LAUNCH_TEMPLATE:
            outs["latestVersion"] = 1
            return "lt-0mock", outs
        if args.typ.endswith(":InstanceRefresh"):
            outs.update(refresh_id="", status="AlreadyCurrent")
        if args.typ.endswith(":BlueGreenCutover"):
            outs.update(healthy_instances=[], retired_groups=[])
        if args.typ.endswith(":FleetIdentity"):
            outs.update(fleet_id=f"{args.inputs['legacy_key']}#0123456789ab", adopted=False)
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def of(self, typ_suffix: str) -> list[Registration]:
        return [r for r in self.registrations if r.typ.endswith(typ_suffix)]

    def one(self, typ_suffix: str) -> Registration:
        found = self.of(typ_suffix)
        assert len(found) == 1, [r.typ for r in self.registrations]
        return found[0]
