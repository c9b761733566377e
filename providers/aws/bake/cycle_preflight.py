"""The cycle's pre-flight at check, read-only: what would make a step fail at ``up``.

- ``verify_problems``: the verify subnet, groups and type can launch a test instance.
- ``sysprep_problems``: a Sysprep-style prepare on a Windows golden instance is
  refused: Sysprep generalizes the instance it runs on and shuts it down, so the
  golden instance would come back as a new, unconfigured machine (EC2 Windows Guide,
  "Create an AMI using Windows Sysprep": run it on an instance you launch to image,
  not on one you keep). The fix is a separate builder instance or EC2 Image Builder.
- ``step_notes``: the plan lines of the preview ("will patch i-… (...)").

AWS calls: ec2 DescribeSubnets, DescribeSecurityGroups, DescribeInstanceTypes,
DescribeInstances (only for a prepare that looks like Sysprep).
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.errors import InvalidInputError
from providers.aws.rules.bake_steps import CommandSpec, PatchSpec, VerifySpec

# Sysprep and the EC2 tools that run it (EC2Launch v2 "sysprep", EC2Launch
# InitializeInstance.ps1 -Schedule + SysprepInstance.ps1, EC2Config Ec2ConfigService
# Settings), and the SSM document AWSEC2-RunSysprep.
SYSPREP = re.compile(r"sysprep", re.IGNORECASE)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "")


def _describe(ec2: Any, instance_id: str) -> Any:
    return ec2.describe_instances(InstanceIds=[instance_id])


def sysprep_problems(
    ec2: Any, instance_id: str, prepare: CommandSpec | None
) -> list[InvalidInputError]:
    """A Windows golden instance with a Sysprep-style prepare: refused, with the fix."""
    if prepare is None:
        return []
    if not any(SYSPREP.search(text) for text in (prepare.document, *prepare.commands)):
        return []
    found = _describe(ec2, instance_id)["Reservations"]
    instance = found[0]["Instances"][0] if found else {}
    windows = (
        "windows" in str(instance.get("PlatformDetails") or instance.get("Platform") or "").lower()
    )
    if not windows:
        return []
    return [
        InvalidInputError(
            "prepare",
            prepare.document,
            f"Sysprep would generalize the golden instance {instance_id} itself and shut it "
            "down: it would come back unconfigured. Run Sysprep on a separate builder "
            "instance launched from the golden image, or build with EC2 Image Builder; "
            "keep prepare to clean-up commands",
        )
    ]


def step_notes(
    instance_id: str,
    patch: PatchSpec | None,
    prepare: CommandSpec | None,
    restore: CommandSpec | None,
    verify: VerifySpec | None,
    default_instance_type: str,
) -> list[str]:
    """What the preview says each step will do."""
    notes: list[str] = []
    if patch is not None:
        reboot = "reboot if needed" if patch.reboot == "if_needed" else "no reboot"
        op = patch.parameters()["Operation"][0]
        notes.append(f"will patch {instance_id} ({patch.document} {op}, {reboot})")
    for step, spec in (("prepare", prepare), ("restore", restore)):
        if spec is not None:
            what = f"{len(spec.commands)} {step} command(s)" if spec.commands else step
            notes.append(f"will run {what} ({spec.document})")
    if verify is not None:
        kind = verify.instance_type or default_instance_type or "the golden instance's type"
        check = " and run its command" if verify.command else ""
        notes.append(f"will verify on a {kind} in {verify.subnet_id}{check}")
    return notes


def verify_problems(ec2: Any, spec: VerifySpec, field: str = "verify") -> list[InvalidInputError]:
    """What would make the verify's RunInstances fail, found at check with reads.

    The subnet exists and has a free address (AvailableIpAddressCount: a launch into a
    full subnet fails InsufficientFreeAddressesInSubnet, EC2 API reference "Error
    codes"); the security groups exist and are in the subnet's VPC (RunInstances
    refuses groups of another VPC: EC2 API reference, "Error codes", InvalidParameter);
    the instance type exists in the region. Each problem names the field and the fix.

    AWS calls: DescribeSubnets, DescribeSecurityGroups, DescribeInstanceTypes.
    """
    problems: list[InvalidInputError] = []
    vpc: str | None = None
    try:
        subnets = ec2.describe_subnets(SubnetIds=[spec.subnet_id])["Subnets"]
        vpc = str(subnets[0]["VpcId"]) if subnets else None
        if subnets and subnets[0].get("AvailableIpAddressCount") == 0:
            problems.append(
                InvalidInputError(
                    f"{field}.subnet_id",
                    spec.subnet_id,
                    "the subnet has no free IP address for the test instance; name a "
                    "subnet with free addresses",
                )
            )
    except ClientError as exc:
        if not _code(exc).startswith("InvalidSubnetID."):
            raise
    if vpc is None:
        problems.append(
            InvalidInputError(
                f"{field}.subnet_id",
                spec.subnet_id,
                "no such subnet in this region; name a subnet of the region the image is "
                "baked in (aws ec2 describe-subnets)",
            )
        )
    if spec.security_group_ids:
        wanted = list(spec.security_group_ids)
        found = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": wanted}])
        vpc_of = {g["GroupId"]: g.get("VpcId") for g in found["SecurityGroups"]}
        missing = [g for g in wanted if g not in vpc_of]
        if missing:
            problems.append(
                InvalidInputError(
                    f"{field}.security_group_ids",
                    missing,
                    "no such security group(s) in this region; name groups of the subnet's VPC",
                )
            )
        elsewhere = [g for g in wanted if g in vpc_of and vpc and vpc_of[g] != vpc]
        if elsewhere:
            problems.append(
                InvalidInputError(
                    f"{field}.security_group_ids",
                    elsewhere,
                    f"in another VPC than subnet {spec.subnet_id} ({vpc}); name groups of "
                    f"{vpc}: EC2 refuses to launch with a group of another VPC",
                )
            )
    if spec.instance_type:
        try:
            ec2.describe_instance_types(InstanceTypes=[spec.instance_type])
        except ClientError as exc:
            if _code(exc) not in ("InvalidInstanceType", "InvalidParameterValue"):
                raise
            problems.append(
                InvalidInputError(
                    f"{field}.instance_type",
                    spec.instance_type,
                    "EC2 offers no such instance type in this region; name one that "
                    "`aws ec2 describe-instance-types` lists, or leave it unset for the "
                    "golden instance's type",
                )
            )
    return problems
