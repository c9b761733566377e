"""Every exception Bakery raises, one class per failure a user must act on.

    BakeryError
    ├── InvalidInputError         a prop or config value is wrong; names the field and the fix
    │   ├── InstanceUnsuitableError   the source instance cannot be baked (gone, terminated,
    │   │                             instance-store root, ...)
    │   │   ├── InstanceHazardError       a bake as asked would harm it (Auto Scaling member,
    │   │   │                             instance store, stop protection, Spot, Mac, hibernated)
    │   │   └── InstanceHeldError         another bake holds it stopped right now
    │   ├── ImageNameTakenError       another image already uses the AMI name
    │   ├── AwsUnreachableError       AWS could not be reached (or refused us) at check/preview
    │   └── InputProblemsError        several problems, reported at once (fails preview)
    │       ├── StackConfigError          ... in the stack config
    │       └── ImageFleetArgsError       ... in ImageFleetArgs
    ├── WaitError                 a bounded wait did not reach its goal
    │   ├── WaitTimeoutError          the deadline passed; carries the last state seen
    │   └── WaitFailedError           the resource reached a failure state
    ├── InstanceNotRestoredError  the source instance could not be put back in its state
    ├── LineageUnreadableError    a preview report could not read a lineage's images
    ├── StartRefusedError         EC2 kept refusing StartInstances (no capacity) to the end
    ├── InstanceStillHeldError    another bake holds the instance and did not let go in time
    ├── AwsCallError              an AWS call of a bake failed for a reason Bakery does not
    │                             handle; names the operation and AWS's error code
    ├── ImageMismatchError        the new image does not carry the instance's billing
    │                             (PlatformDetails / UsageOperation); it was deregistered
    ├── CommandFailedError        a Run Command of a bake step ended other than Success;
    │                             names the step, status, exit code and output tail
    ├── VerifyFailedError         a test instance of the new image did not pass; the image
    │                             was not handed on and is tagged bakery:verify-failed
    ├── CopyFailedError           a copy to another region was refused or failed; what it
    │                             had made in that region was removed
    └── RolloutError              a rollout did not end healthy
        ├── RefreshFailedError        the refresh ended Failed/Cancelled/Rollback*; says what
        │                             the rollback did
        ├── RefreshTimeoutError       the rollout timeout ran out; the refresh goes on in AWS
        └── GroupUnhealthyError       a group did not get its capacity InService and healthy
                                      on the image

Messages name the field or resource, what was found and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence


class BakeryError(Exception):
    """Base of every Bakery error."""


class InvalidInputError(BakeryError):
    """A single bad input: ``field`` was ``found``; ``fix`` says what to do."""

    def __init__(self, field: str, found: object, fix: str) -> None:
        self.field = field
        self.found = found
        self.fix = fix
        super().__init__(f"{field} is {found!r}: {fix}")


class InstanceUnsuitableError(InvalidInputError):
    """The source instance exists but cannot be baked (or does not exist)."""


class InstanceHazardError(InstanceUnsuitableError):
    """Baking the instance in the chosen consistency mode would harm it; ``fix`` says how not to."""


class InstanceHeldError(InstanceUnsuitableError):
    """Another bake (another stack, or another run) holds the instance stopped."""


class AwsUnreachableError(InvalidInputError):
    """A check-time AWS call failed: no network path, no credentials, or access refused.

    ``field`` is ``endpoint_url`` when one is set, else ``region``; the message names the
    endpoint, the region and what to do.
    """


class ImageNameTakenError(InvalidInputError):
    """An image not made by this bake already has the AMI name."""

    def __init__(self, name: str, image_id: str) -> None:
        super().__init__(
            "name",
            name,
            f"image {image_id} already uses this AMI name in the region; "
            "choose another name or leave name unset for a generated one",
        )
        self.image_id = image_id


class InputProblemsError(InvalidInputError):
    """Several input problems, raised once so that preview shows them all."""

    label = "input"

    def __init__(self, problems: Sequence[InvalidInputError]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = f"{len(self.problems)} problem{'' if len(self.problems) == 1 else 's'}"
        BakeryError.__init__(self, f"invalid {self.label} ({count}):\n{lines}")
        first = self.problems[0] if self.problems else None
        self.field = first.field if first else ""
        self.found = first.found if first else None
        self.fix = first.fix if first else ""


class StackConfigError(InputProblemsError):
    """Every problem found in the stack config."""

    label = "stack config"


class ImageFleetArgsError(InputProblemsError):
    """Every problem found in ImageFleetArgs."""

    label = "ImageFleetArgs"


class WaitError(BakeryError):
    """A bounded wait ended without success."""

    def __init__(self, resource: str, goal: str, state: object, elapsed_s: float, why: str) -> None:
        self.resource = resource
        self.goal = goal
        self.state = state
        self.elapsed_s = elapsed_s
        super().__init__(
            f"{resource} did not become {goal}: {why} after {elapsed_s:.0f}s (last state: {state})"
        )


class WaitTimeoutError(WaitError):
    """The deadline passed; raise the timeout or find out why AWS is slow."""

    def __init__(self, resource: str, goal: str, state: object, elapsed_s: float) -> None:
        super().__init__(resource, goal, state, elapsed_s, "timed out")


class WaitFailedError(WaitError):
    """The resource reached a state it cannot leave towards the goal."""

    def __init__(self, resource: str, goal: str, state: object, elapsed_s: float) -> None:
        super().__init__(resource, goal, state, elapsed_s, "reached a failure state")


class InstanceNotRestoredError(BakeryError):
    """The instance could not be returned to the state it was found in."""

    def __init__(
        self, instance_id: str, wanted: str, cause: BaseException, state: str = "unknown"
    ) -> None:
        self.instance_id = instance_id
        self.wanted = wanted
        self.state = state
        action = (
            f"start it with `aws ec2 start-instances --instance-ids {instance_id}`"
            if wanted == "running"
            else f"check it with `aws ec2 describe-instances --instance-ids {instance_id}`"
        )
        super().__init__(
            f"instance {instance_id} is {state} and could not be returned to {wanted!r} "
            f"({cause}); {action} and re-run `pulumi up`"
        )


class StartRefusedError(BakeryError):
    """StartInstances was refused (e.g. InsufficientInstanceCapacity) until the deadline."""

    def __init__(self, instance_id: str, code: object, deadline_s: float) -> None:
        self.instance_id = instance_id
        self.code = code
        super().__init__(
            f"EC2 refused to start instance {instance_id} ({code}) for {deadline_s / 60:.0f} "
            "minutes; capacity for its type may be short in its Availability Zone"
        )


class InstanceStillHeldError(BakeryError):
    """Another bake holds the instance (its stop note) and did not release it in time."""

    def __init__(self, instance_id: str, holder: str, until: str, elapsed_s: float) -> None:
        self.instance_id = instance_id
        self.holder = holder
        super().__init__(
            f"instance {instance_id} is held by bake {holder} (tag bakery:stopped-by) until "
            f"{until or '?'}; waited {elapsed_s:.0f}s. Run `pulumi up` again once that bake "
            "is done (its note goes when it restarts the instance)"
        )


class AwsCallError(BakeryError):
    """An AWS call failed for a reason Bakery does not handle (access, limits, ...)."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        super().__init__(
            f"{operation} failed ({code}): {message}; fix the cause (permissions: "
            "iam/bakery-policy.json) and run `pulumi up` again: the bake resumes"
        )

    @classmethod
    def of(cls, exc: BaseException) -> AwsCallError:
        """From a botocore ClientError or BotoCoreError."""
        response = getattr(exc, "response", None) or {}
        error = response.get("Error", {})
        operation = getattr(exc, "operation_name", None) or "an AWS call"
        return cls(str(operation), str(error.get("Code") or type(exc).__name__), str(exc))


class ImageMismatchError(BakeryError):
    """The image does not carry the instance's billing; it has been deregistered."""

    def __init__(self, image_id: str, instance_id: str, found: str, wanted: str) -> None:
        self.image_id = image_id
        super().__init__(
            f"image {image_id} of instance {instance_id} has billing {found}, but the "
            f"instance has {wanted}; the image was deregistered. Report this: CreateImage "
            "should carry PlatformDetails and UsageOperation over"
        )


class CommandFailedError(BakeryError):
    """A bake step's Run Command (patch, prepare, restore, verify) did not succeed."""

    def __init__(
        self,
        step: str,
        instance_id: str,
        command_id: str,
        status: str,
        exit_code: int | None,
        output_tail: str,
        details: str = "",
    ) -> None:
        self.step = step
        self.instance_id = instance_id
        self.command_id = command_id
        self.status = status
        self.exit_code = exit_code
        self.output_tail = output_tail
        shown = f"{status} ({details})" if details and details != status else status
        code = "no exit code" if exit_code is None else f"exit code {exit_code}"
        output = output_tail.strip() or "(no output)"
        super().__init__(
            f"{step} command {command_id} on instance {instance_id} ended {shown}, {code}. "
            f"Last output:\n{output}\nFix the command or the instance and run `pulumi up` "
            f"again; details: aws ssm get-command-invocation --command-id {command_id} "
            f"--instance-id {instance_id}"
        )


class VerifyFailedError(BakeryError):
    """The image's test instance failed (status checks, the verify command); not handed on."""

    def __init__(self, image_id: str, reason: str) -> None:
        self.image_id = image_id
        self.reason = reason
        super().__init__(
            f"image {image_id} failed its verify: {reason}. It was not handed on: it is "
            "tagged bakery:verify-failed and retention will prune it. Fix the golden "
            "instance (or verify's settings) and run `pulumi up` again"
        )


# Error codes that say a copy hit a quota, or could not use its KMS key (EC2 API
# reference, "Error codes": ResourceLimitExceeded, CustomerKeyHasBeenRevoked; EC2 also
# answers InvalidKMSKey.* and KMS's own codes for a key it may not use).
_LIMIT_WORDS = ("LimitExceeded", "QuotaExceeded")
_KEY_WORDS = ("KMS", "Kms", "CustomerKey")


class CopyFailedError(BakeryError):
    """A copy of the image to ``region`` failed (CopyImage refused, the copy went to
    ``failed``, or a step after it such as sharing failed); the copy and its snapshots
    were removed from ``region``, except what ``left`` names."""

    def __init__(
        self,
        region: str,
        image_id: str,
        reason: str,
        *,
        code: str = "",
        copy_id: str = "",
        left: Sequence[str] = (),
    ) -> None:
        self.region = region
        self.image_id = image_id
        self.reason = reason
        self.code = code
        self.copy_id = copy_id
        self.left = list(left)
        if self.left:
            remains = (
                f"still in {region}: {', '.join(self.left)} (AWS refused their removal; "
                "snapshots are tagged bakery:delete-pending and removed by a later run)"
            )
        else:
            remains = f"nothing of it is left in {region}"
        if any(w in code for w in _LIMIT_WORDS):
            fix = (
                f"wait for the other AMI copies into {region} to finish (a destination "
                "Region runs a limited number at once) or ask for a higher quota"
            )
        elif any(w in code for w in _KEY_WORDS):
            fix = (
                f"make the KMS key of copy_to_regions.{region} usable there (enabled, in "
                f"{region}, its key policy allowing this account)"
            )
        else:
            fix = "fix the cause"
        super().__init__(
            f"copy of {image_id} to {region} failed: {reason}; {remains}; "
            f"{fix} and run `pulumi up` again"
        )


class LineageUnreadableError(BakeryError):
    """The PR preview could not read a lineage's images from AWS; the message says why."""


class RolloutError(BakeryError):
    """An instance refresh did not finish successfully."""

    def __init__(self, group: str, refresh_id: str, status: str, reason: str) -> None:
        self.group = group
        self.refresh_id = refresh_id
        self.status = status
        self.reason = reason
        super().__init__(
            f"instance refresh {refresh_id} of group {group} ended {status}: "
            f"{reason or 'no reason given'}"
        )


class RefreshFailedError(RolloutError):
    """The refresh ended without success; ``rollback`` says what became of the group."""

    def __init__(
        self, group: str, refresh_id: str, status: str, reason: str, target: str, rollback: str
    ) -> None:
        self.group = group
        self.refresh_id = refresh_id
        self.status = status
        self.reason = reason
        self.target = target
        self.rollback = rollback
        BakeryError.__init__(
            self,
            f"instance refresh {refresh_id} of group {group} to {target} ended {status}: "
            f"{reason or 'no reason given'}. {rollback}. "
            "Fix the image or the rollout settings and run `pulumi up` again",
        )


class RefreshTimeoutError(RolloutError):
    """The rollout timeout ran out while the refresh was still going; AWS carries on."""

    def __init__(
        self,
        group: str,
        refresh_id: str,
        status: str,
        percentage_complete: int,
        elapsed_s: float,
    ) -> None:
        self.group = group
        self.refresh_id = refresh_id
        self.status = status
        self.reason = "timed out"
        self.percentage_complete = percentage_complete
        self.elapsed_s = elapsed_s
        BakeryError.__init__(
            self,
            f"instance refresh {refresh_id} of group {group} was still {status} "
            f"({percentage_complete}% complete) when the rollout timeout ran out after "
            f"{elapsed_s:.0f}s. It carries on in AWS: run `pulumi up` again to wait for it, "
            "raise rollout_timeout_s, or stop it with `aws autoscaling "
            f"cancel-instance-refresh --auto-scaling-group-name {group}`",
        )


class GroupUnhealthyError(RolloutError):
    """A group did not get its desired capacity InService, healthy and on the image."""

    def __init__(
        self,
        group: str,
        image_id: str,
        wanted: int,
        ready: int,
        problems: Sequence[str],
        elapsed_s: float,
        fix: str,
        gone: bool = False,
    ) -> None:
        self.group = group
        self.refresh_id = ""
        self.status = "gone" if gone else "unhealthy"
        self.image_id = image_id
        self.wanted = wanted
        self.ready = ready
        self.problems = list(problems)
        self.elapsed_s = elapsed_s
        self.fix = fix
        self.reason = "; ".join(self.problems)
        if gone:
            found = f"group {group} is gone (deleted outside this rollout)"
        else:
            seen = "; ".join(self.problems) or "no instances launched"
            found = (
                f"group {group} did not get {wanted} InService, healthy instance(s) running "
                f"{image_id} within {elapsed_s:.0f}s: {ready} ready ({seen})"
            )
        BakeryError.__init__(self, f"{found}. {fix}")


def is_response_parser_error(exc: BaseException) -> bool:
    """Whether botocore could not parse the answer (not AWS's: a proxy's page, or a
    local endpoint's HTML 500). ``botocore.parsers`` is imported here, on an error
    only: it pulls in botocore's client machinery (about 70 ms)."""
    from botocore.parsers import ResponseParserError

    return isinstance(exc, ResponseParserError)
