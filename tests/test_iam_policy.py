"""iam/bakery-policy.json allows exactly the AWS operations Bakery performs (EC2, Auto Scaling,
ELB, KMS and SSM Run Command).

Two sources make up "what Bakery performs":

* Bakery's own AWS calls: every boto3 client method (and paginator) used in
  ``providers/``, found by reading the code (AST) and named as IAM names them via
  botocore's service model. A bake run under moto checks the scan misses nothing.
* What the pulumi-aws provider does for the ``aws:*`` resources the program
  registers (found by evaluating the program under mocks for every stack file and
  every branch). That provider cannot run here, so ``RESOURCE_OPERATIONS`` is taken
  from its source, hashicorp/terraform-provider-aws (internal/service/ec2/
  ec2_launch_template.go, ami.go, ami_copy.go, ami_launch_permission.go;
  internal/service/autoscaling/group.go, launch_configuration.go; read 2025), for the
  arguments Bakery sets, plus the checks AWS makes on the caller (RunInstances when
  a group uses a launch template: Amazon EC2 Auto Scaling User Guide, "Control
  Amazon EC2 launch template usage in Auto Scaling groups").

The policy must allow all of it and nothing else, with no wildcard actions.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from providers.aws.bake import baked_image as baked_image_workflow
from providers.aws.clients import make_client
from providers.aws.waits import Pacing
from providers.baked_image import BakedImageProvider
from tests.conftest import REGION, FakeClock
from tests.moto_ext.golden import seed_golden_instance
from tests.program_fixtures import (
    AMI_COPY,
    GROUP,
    LAUNCH_CONFIGURATION,
    LAUNCH_PERMISSION,
    LAUNCH_TEMPLATE,
    fresh_mocks,
    run_program,
    stack_files,
    stack_name,
    stack_yaml,
)
from tests.recording import record_clients

ROOT_DIR = Path(__file__).resolve().parent.parent
POLICY = ROOT_DIR / "iam" / "bakery-policy.json"
# receiver name -> botocore service; IAM names elbv2's actions elasticloadbalancing:*.
SERVICES = {
    "ec2": "ec2",
    "autoscaling": "autoscaling",
    "elbv2": "elbv2",
    "kms": "kms",
    "ssm": "ssm",
}
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}
# IAM actions with no API operation of that name (kms:ReEncrypt checks both).
IAM_ONLY_ACTIONS = {"kms:ReEncryptFrom", "kms:ReEncryptTo"}
# What EC2 does with the caller's permissions for encrypted volumes (start, image, copy
# and launch: Amazon EBS User Guide, "Permissions for IAM users"; through EC2 only).
KMS_THROUGH_EC2 = {
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
}

# What the pulumi-aws provider calls for each resource type Bakery registers (see the
# module docstring for the source), as "service:Operation".
RESOURCE_OPERATIONS: dict[str, set[str]] = {
    LAUNCH_TEMPLATE: {
        "ec2:CreateLaunchTemplate",  # create (tags via TagSpecifications: CreateTags)
        "ec2:CreateTags",
        "ec2:DeleteTags",  # tag updates
        "ec2:DescribeLaunchTemplates",  # read
        "ec2:DescribeLaunchTemplateVersions",  # read (latest version's data)
        "ec2:CreateLaunchTemplateVersion",  # update: every new image is a new version
        "ec2:DeleteLaunchTemplate",  # delete
    },
    GROUP: {
        "autoscaling:CreateAutoScalingGroup",
        "autoscaling:DescribeAutoScalingGroups",  # read, and the drain/delete waits
        "autoscaling:UpdateAutoScalingGroup",  # update, and draining to 0 before delete
        "autoscaling:DeleteAutoScalingGroup",
        "autoscaling:CreateOrUpdateTags",  # tag updates
        "autoscaling:DeleteTags",
        "autoscaling:AttachLoadBalancerTargetGroups",  # target_group_arns updates
        "autoscaling:DetachLoadBalancerTargetGroups",
        "autoscaling:DescribeLoadBalancerTargetGroups",  # waits after attach/detach
        "ec2:RunInstances",  # checked on the caller for a group using a launch template
    },
    LAUNCH_CONFIGURATION: {
        "autoscaling:CreateLaunchConfiguration",
        "autoscaling:DescribeLaunchConfigurations",  # read
        "ec2:DescribeImages",  # read: the root device name of the image
        # delete: never by Pulumi (retain_on_delete); the cutover deletes it (code).
    },
    AMI_COPY: {
        "ec2:CopyImage",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:DescribeImages",  # wait for available, read
        "ec2:ModifyImageAttribute",  # description updates
        # delete: never (retain_on_delete keeps rollback targets).
    },
    LAUNCH_PERMISSION: {
        "ec2:ModifyImageAttribute",  # add (create) and remove (delete) the account
        "ec2:DescribeImageAttribute",  # read
    },
}


def _imported_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _api_maps() -> dict[str, dict[str, str]]:
    session = boto3.session.Session(region_name=REGION)
    return {
        svc: dict(session.client(svc).meta.method_to_api_mapping)
        for svc in sorted(set(SERVICES.values()))
    }


def scanned_operations() -> dict[str, set[str]]:
    """Every EC2 / Auto Scaling operation the code in providers/ calls, with its files."""
    maps = _api_maps()
    found: dict[str, set[str]] = {}
    unknown: list[str] = []
    for path in sorted((ROOT_DIR / "providers").rglob("*.py")):
        tree = ast.parse(path.read_text())
        modules = _imported_names(tree)
        where = str(path.relative_to(ROOT_DIR))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not isinstance(node.value, ast.Name):
                continue
            receiver, attr = node.value.id, node.attr
            if receiver == "self":
                continue  # a method of the class itself (``self.verify``), no client
            service = SERVICES.get(receiver)
            if attr in ("get_paginator", "get_waiter") and service:
                continue  # the operation is in the call's argument (below)
            if service and attr in maps[service]:
                action = f"{IAM_PREFIX.get(service, service)}:{maps[service][attr]}"
                found.setdefault(action, set()).add(where)
            elif receiver not in modules and any(attr in m for m in maps.values()):
                unknown.append(f"{where}:{node.lineno} {receiver}.{attr}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_paginator"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in SERVICES
            ):
                service = SERVICES[node.func.value.id]
                arg = node.args[0]
                assert isinstance(arg, ast.Constant), f"{where}:{node.lineno}: literal please"
                found.setdefault(f"{service}:{maps[service][arg.value]}", set()).add(where)
    # A client under another name would escape the scan: name clients ec2 / autoscaling.
    assert not unknown, unknown
    return found


def _branches() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every stack file, plus configs that reach the program's other branches."""
    for path in stack_files():
        yield stack_name(path), stack_yaml(stack_name(path))
    prod = stack_yaml("prod")
    prod.update(
        {
            "aws:region": "eu-west-1",
            "bakery:promote.source_region": "us-east-1",
            "bakery:promote.share_with_accounts": ["444455556666"],
        }
    )
    yield "prod", prod
    legacy = stack_yaml("dev")
    legacy.update({"bakery:fleet.launch": "configuration", "bakery:fleet.rollout": "blue_green"})
    yield "dev", legacy


@functools.cache
def registered_aws_types() -> frozenset[str]:
    types: set[str] = set()
    for stack, config in _branches():
        for mocks in fresh_mocks():
            run_program(stack, config, mocks)
            types |= {r.typ for r in mocks.registrations if r.typ.startswith("aws:")}
    return frozenset(types)


def _policy() -> dict[str, Any]:
    return dict(json.loads(POLICY.read_text()))


def _allowed(service: str | None = None) -> set[str]:
    actions: set[str] = set()
    for statement in _policy()["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return {a for a in actions if service is None or a.startswith(f"{service}:")}


@pytest.fixture(scope="module")
def needed() -> dict[str, set[str]]:
    """Each operation Bakery performs -> what performs it (files, resource types)."""
    why = {op: set(files) for op, files in scanned_operations().items()}
    for op in KMS_THROUGH_EC2:
        why.setdefault(op, set()).add("EC2 on the caller's behalf")
    for typ in registered_aws_types():
        for op in RESOURCE_OPERATIONS[typ]:
            why.setdefault(op, set()).add(typ)
    return why


def test_iam_policy_scan_finds_the_bake_and_rollout_calls() -> None:
    ops = scanned_operations()

    for op in (
        "ec2:StopInstances",
        "ec2:CreateImage",
        "ec2:DescribeSnapshots",  # used through a paginator
        "ec2:DescribeInstanceAttribute",  # pre-flight: stop protection
        "autoscaling:DescribeAutoScalingInstances",  # pre-flight: group membership
        "autoscaling:StartInstanceRefresh",
        "autoscaling:DescribeInstanceRefreshes",  # passed as a function, not called
        "autoscaling:DescribeScalingActivities",  # failed launches fail a wait at once
        "elasticloadbalancing:DescribeTargetHealth",  # the health gate
        "ssm:SendCommand",  # bake steps' Run Command (bake/commands.py)
        "ssm:DescribeInstancePatchStates",  # rebake_on: patch_state (bake/patch_state.py)
    ):
        assert op in ops, op


def test_iam_policy_table_covers_exactly_the_aws_resource_types_the_program_registers() -> None:
    assert registered_aws_types() == set(RESOURCE_OPERATIONS)


@pytest.mark.parametrize("service", ["ec2", "autoscaling", "elasticloadbalancing", "kms", "ssm"])
def test_iam_policy_allows_every_operation_and_nothing_more(
    service: str, needed: dict[str, set[str]]
) -> None:
    wanted = {op for op in needed if op.startswith(f"{service}:")}

    missing = sorted(wanted - _allowed(service))
    extra = sorted(_allowed(service) - wanted)
    assert not missing, {op: sorted(needed[op]) for op in missing}
    assert not extra, f"allowed but never performed: {extra}"


def test_iam_policy_names_real_operations_without_wildcards() -> None:
    session = boto3.session.Session(region_name=REGION)
    models = {
        IAM_PREFIX.get(svc, svc): set(session.client(svc).meta.service_model.operation_names)
        for svc in ("ec2", "autoscaling", "kms", "elbv2", "ssm")
    }

    for action in _allowed():
        assert "*" not in action and "?" not in action, action
        service, operation = action.split(":")
        if action in IAM_ONLY_ACTIONS:
            continue
        if service in models:
            assert operation in models[service], action
        else:
            assert action in ("iam:PassRole", "iam:CreateServiceLinkedRole"), action


def test_iam_policy_scopes_the_statements_beyond_ec2_and_autoscaling() -> None:
    by_action: dict[str, dict[str, Any]] = {}
    grants: list[dict[str, Any]] = []
    for statement in _policy()["Statement"]:
        listed = statement["Action"]
        for action in [listed] if isinstance(listed, str) else listed:
            by_action[action] = statement
            if action == "kms:CreateGrant":
                grants.append(statement)

    assert by_action["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}
    }
    assert "autoscaling.amazonaws.com" in by_action["iam:CreateServiceLinkedRole"]["Resource"]
    # CreateGrant: for EC2's own grants, and Bakery's to the Auto Scaling role only.
    assert [g["Condition"] for g in grants] == [
        {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        {
            "StringLike": {
                "kms:GranteePrincipal": "arn:aws:iam::*:role/aws-service-role/"
                "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling*"
            }
        },
    ]
    assert by_action["kms:RetireGrant"] is grants[1]
    # verify's TerminateInstances: only Bakery's tagged test instances, never a golden one.
    assert by_action["ec2:TerminateInstances"]["Condition"] == {
        "Null": {"aws:ResourceTag/bakery:verify-of": "false"}
    }
    for action in ("kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext"):
        assert by_action[action]["Condition"]["StringLike"]["kms:ViaService"] == (
            "ec2.*.amazonaws.com"
        )


def test_iam_policy_covers_what_a_bake_sends_under_moto(
    ec2: Any, fake_clock: FakeClock, monkeypatch
) -> None:
    """A real bake, update, re-bake and release: every request sent is scanned and allowed."""
    calls = record_clients(monkeypatch)
    pacing = Pacing(clock=fake_clock, sleep=fake_clock.sleep, rand=lambda: 1.0)
    monkeypatch.setattr(baked_image_workflow, "default_pacing", lambda: pacing)
    golden = seed_golden_instance(ec2, make_client("kms", region=REGION))
    provider = BakedImageProvider()
    news = {
        "instance_id": golden,
        "lineage": "bakery/test/image",
        "triggers": ["1"],
        "region": REGION,
        "keep_previous": 0,
    }
    first = provider.check({}, news).inputs
    created = provider.create(first)
    updated = provider.update(created.id, created.outs, {**first, "tags": {"team": "web"}})
    second = provider.check(first, {**news, "triggers": ["2"]}).inputs
    provider.create(second)
    provider.delete(created.id, updated.outs)

    sent = {f"{c.service}:{c.operation}" for c in calls.calls}
    assert {"ec2:StopInstances", "ec2:CreateImage", "ec2:DeregisterImage"} <= sent
    # The pre-flight at check (providers/aws/bake/preflight.py) reads these.
    assert {"ec2:DescribeInstanceTypes", "autoscaling:DescribeAutoScalingInstances"} <= sent
    assert "autoscaling:DescribeAutoScalingGroups" in sent  # the in-use guard
    assert "kms:DescribeKey" in sent  # kms_key_ids of the encrypted snapshots
    assert sent <= set(scanned_operations())
    assert sent <= _allowed()
