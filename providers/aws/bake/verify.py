"""A bake's verify: one test instance of the new image must boot before it is handed on.

``verify_image`` launches the instance (RunInstances), waits for it to run and for both
status checks to pass (DescribeInstances, DescribeInstanceStatus), optionally runs the
caller's check on it (``check_command``: SSM Run Command, wired by the caller), and
always terminates it (TerminateInstances). A failed check is a ``VerifyResult``, not an
exception: the caller decides (``errors.VerifyFailedError``); AWS call errors propagate.

Resumable, never duplicated (EC2 User Guide / API reference, "Ensuring idempotency in
Amazon EC2 API requests"): RunInstances takes a ``ClientToken`` of at most 64 ASCII
characters; a repeat with the same token and parameters returns the same instance (only
its state may differ), other parameters give ``IdempotentParameterMismatch``, and the
token stays valid for at least 24 hours after the instance is terminated. So the token
is derived from the bake id, the image and the request itself (a changed verify setting
is a new token, never a mismatch) plus an attempt number: a resumed run adopts the test
instance a killed run launched, and when that one has already ended (the killed run, or
``terminate_test_instances``, terminated it) the next attempt launches a fresh one.

The test instance and its volumes are tagged at launch (TagSpecifications) with the bake
id and ``bakery:verify-of`` = image id, so ``terminate_test_instances`` finds what an
interrupted run left behind (at the start of a resumed run, on a failed run, on delete).

AWS calls: ec2 RunInstances, DescribeInstances, DescribeInstanceStatus,
TerminateInstances, CreateTags, DeleteTags; at check (``cycle_preflight.verify_problems``)
DescribeSubnets, DescribeSecurityGroups, DescribeInstanceTypes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.errors import WaitError, WaitFailedError
from providers.aws.images.amis import tag_image, untag_image
from providers.aws.rules.bake_steps import VerifySpec
from providers.aws.wait_table import WAITS
from providers.aws.waits import Pacing, wait_for

Log = Callable[[str], None]
CheckCommand = Callable[[str], "str | None"]

# RunInstances ClientToken: at most 64 ASCII characters ("bakery-verify-" + 40 + "-NN").
TOKEN_PREFIX = "bakery-verify-"
MAX_TOKEN = 64
# Test instances one bake may launch in turn (each a resumed run whose predecessor's
# instance had already ended); past this something keeps killing the runs.
MAX_LAUNCHES = 10
# Tag values: at most 256 Unicode characters (EC2 User Guide, "Tag your Amazon EC2
# resources", tag restrictions).
MAX_TAG_VALUE = 256
_ENDED = frozenset({"shutting-down", "terminated"})
_LIVE = ["pending", "running", "stopping", "stopped"]
_INSTANCE_GONE = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")


@dataclass(frozen=True)
class VerifyResult:
    """What a verify found: passed, or why not, and which test instance showed it."""

    passed: bool
    reason: str
    test_instance_id: str | None


def _quiet(_: str) -> None:
    pass


def _duration(seconds: float) -> str:
    """``45s``, ``4m``, ``1h5m``: how long a check took, for reasons and tags."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60}m"


def launch_request(
    image_id: str, spec: VerifySpec, *, bake_id: str, default_instance_type: str
) -> dict[str, Any]:
    """RunInstances parameters (all but ClientToken) of the test instance.

    IMDSv2 only (``HttpTokens`` required: EC2 User Guide, "Configure the instance
    metadata options"); the subnet and groups on the primary network interface, with a
    public IPv4 address only when asked (``AssociatePublicIpAddress`` is a property of
    the interface: API reference, InstanceNetworkInterfaceSpecification).
    """
    interface: dict[str, Any] = {
        "DeviceIndex": 0,
        "SubnetId": spec.subnet_id,
        "AssociatePublicIpAddress": spec.associate_public_ip,
        "DeleteOnTermination": True,
    }
    if spec.security_group_ids:
        interface["Groups"] = list(spec.security_group_ids)
    instance_tags = {tags.BAKE_ID: bake_id, tags.VERIFY_OF: image_id}
    params: dict[str, Any] = {
        "ImageId": image_id,
        "InstanceType": spec.instance_type or default_instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "NetworkInterfaces": [interface],
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "TagSpecifications": [
            *tags.spec("instance", instance_tags),
            *tags.spec("volume", instance_tags),
        ],
    }
    if spec.instance_profile:
        key = "Arn" if spec.instance_profile.startswith("arn:") else "Name"
        params["IamInstanceProfile"] = {key: spec.instance_profile}
    return params


def client_token(bake_id: str, params: dict[str, Any], attempt: int) -> str:
    """The ClientToken of launch ``attempt`` (1-based) of this bake and request."""
    digest = hashlib.sha256(
        json.dumps({"bake": bake_id, "request": params}, sort_keys=True).encode()
    ).hexdigest()[:40]
    token = f"{TOKEN_PREFIX}{digest}-{attempt}"
    assert len(token) <= MAX_TOKEN
    return token


def _launch(ec2: Any, params: dict[str, Any], bake_id: str, log: Log) -> dict[str, Any] | None:
    """The test instance: adopted (same token) or launched; None after MAX_LAUNCHES."""
    for attempt in range(1, MAX_LAUNCHES + 1):
        response = ec2.run_instances(**params, ClientToken=client_token(bake_id, params, attempt))
        instance: dict[str, Any] = response["Instances"][0]
        state = str(instance["State"]["Name"])
        if state not in _ENDED:
            return instance
        log(f"test instance {instance['InstanceId']} of an earlier run is {state}; launching anew")
    return None


def _terminate(ec2: Any, instance_ids: Sequence[str], log: Log, *, quiet: bool = False) -> None:
    """TerminateInstances, gone counting as done; ``quiet`` while another error is raised
    (it must not hide that one: the next run's ``terminate_test_instances`` retries)."""
    if not instance_ids:
        return
    try:
        ec2.terminate_instances(InstanceIds=list(instance_ids))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in _INSTANCE_GONE:
            return
        if not quiet:
            raise
        log(f"could not terminate test instance(s) {', '.join(instance_ids)}: {exc}")
        return
    log(f"terminating test instance(s) {', '.join(instance_ids)}")


def _test_instances(ec2: Any, bake_id: str | None, image_id: str | None) -> list[str]:
    """Ids of live test instances with these tags (every page)."""
    filters = [
        {"Name": "tag-key", "Values": [tags.VERIFY_OF]},
        {"Name": "instance-state-name", "Values": _LIVE},
    ]
    if bake_id is not None:
        filters.append({"Name": f"tag:{tags.BAKE_ID}", "Values": [bake_id]})
    if image_id is not None:
        filters.append({"Name": f"tag:{tags.VERIFY_OF}", "Values": [image_id]})
    found: list[str] = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            found += [i["InstanceId"] for i in reservation["Instances"]]
    return sorted(found)


def terminate_test_instances(
    ec2: Any, bake_id: str | None = None, *, image_id: str | None = None, log: Log = _quiet
) -> list[str]:
    """Terminate the live test instances of a bake and/or an image (found by tag).

    For the start of a resumed run, a failed run and delete: a killed ``pulumi up``
    leaves nothing running after the next one. Instances already shutting down or
    terminated are left alone. At least one of ``bake_id`` and ``image_id`` is needed:
    every Bakery test instance of the account would include other stacks' running ones.

    AWS calls: DescribeInstances (paginated), TerminateInstances.

    Returns:
        The ids terminated (sorted).
    """
    if bake_id is None and image_id is None:
        raise TypeError("terminate_test_instances needs a bake_id or an image_id")
    found = _test_instances(ec2, bake_id, image_id)
    _terminate(ec2, found, log)
    return found


def verify_image(
    ec2: Any,
    image_id: str,
    spec: VerifySpec,
    *,
    bake_id: str,
    default_instance_type: str,
    pacing: Pacing,
    log: Log,
    check_command: CheckCommand | None = None,
) -> VerifyResult:
    """Launch a test instance of the image, prove it boots, and terminate it.

    Steps: RunInstances (adopting this bake's instance of a killed run: module
    docstring), terminate other live test instances of the bake (an earlier request's),
    wait running, wait for both status checks ``ok`` (``impaired`` fails at once), then
    ``check_command(instance_id)`` when given (a failure reason, or None). All within
    ``spec.timeout_s``. The instance is terminated on every path out.

    Args:
        default_instance_type: the golden instance's type, when ``spec`` names none.
        check_command: the caller's check on the running instance (SSM Run Command).

    Returns:
        ``VerifyResult``: passed, or the reason (``"instance status check impaired after
        4m"``, ``"did not reach running: ..."``, the command's reason).

    Raises:
        botocore ClientError: an AWS call failed (e.g. RunInstances refused).
    """
    params = launch_request(
        image_id, spec, bake_id=bake_id, default_instance_type=default_instance_type
    )
    started = pacing.clock()
    instance = _launch(ec2, params, bake_id, log)
    if instance is None:
        reason = f"{MAX_LAUNCHES} test instances of this bake ended before it finished"
        return VerifyResult(False, reason, None)
    instance_id = str(instance["InstanceId"])
    log(f"verifying {image_id} on test instance {instance_id} ({params['InstanceType']})")
    try:
        stale = [i for i in _test_instances(ec2, bake_id, None) if i != instance_id]
        _terminate(ec2, stale, log)
        return _check(ec2, instance_id, spec, pacing, log, check_command, started)
    finally:
        # Not waited for: TerminateInstances is accepted at once and billing ends with
        # shutting-down; waiting for terminated would add minutes to every bake, and
        # terminate_test_instances on the next run catches one that did not go.
        _terminate(ec2, [instance_id], log, quiet=sys.exc_info()[0] is not None)


def _check(
    ec2: Any,
    instance_id: str,
    spec: VerifySpec,
    pacing: Pacing,
    log: Log,
    check_command: CheckCommand | None,
    started: float,
) -> VerifyResult:
    """Running, status checks ok, the caller's check: the first failure is the result."""
    resource = f"test instance {instance_id}"

    def remaining() -> float:
        return max(1.0, spec.timeout_s - (pacing.clock() - started))

    for key, failed in (
        ("test_instance_running", "did not reach running"),
        ("instance_status_ok", "status checks did not pass"),
    ):
        waiter = WAITS[key]
        try:
            wait_for(
                waiter,
                waiter.probe(ec2, [instance_id]),
                resource=resource,
                pacing=pacing,
                spec=waiter.spec.with_deadline(remaining()),
                log=log,
            )
        except WaitError as exc:
            elapsed = _duration(pacing.clock() - started)
            if isinstance(exc, WaitFailedError) and key == "instance_status_ok":
                reason = f"{exc.state} after {elapsed}"
            elif isinstance(exc, WaitFailedError):
                reason = f"{failed}: {exc.state} after {elapsed}"
            else:
                reason = (
                    f"{failed} within verify.timeout_s ({spec.timeout_s:.0f}s; last: "
                    f"{exc.state}); raise it if the image boots slowly"
                )
            log(f"{resource}: {reason}")
            return VerifyResult(False, reason, instance_id)
    if check_command is not None:
        problem = check_command(instance_id)
        if problem:
            log(f"{resource}: verify command failed: {problem}")
            return VerifyResult(False, problem, instance_id)
    return VerifyResult(True, "", instance_id)


def mark_verified(
    ec2: Any,
    image_id: str,
    snapshot_ids: list[str],
    result: VerifyResult,
    now: Callable[[], datetime] = tags.utcnow,
) -> None:
    """Tag the image and its snapshots with the verdict: ``bakery:verified`` = when, or
    ``bakery:verify-failed`` = why (at most 256 characters); the other tag goes (a
    re-verify replaces an old verdict).

    AWS calls: CreateTags, DeleteTags.
    """
    if result.passed:
        key, value, other = tags.VERIFIED, tags.stamp(now()), tags.VERIFY_FAILED
    else:
        key, value, other = tags.VERIFY_FAILED, result.reason or "failed", tags.VERIFIED
    if len(value) > MAX_TAG_VALUE:
        value = value[: MAX_TAG_VALUE - 3] + "..."
    tag_image(ec2, image_id, snapshot_ids, {key: value})
    untag_image(ec2, image_id, snapshot_ids, [other])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "")
