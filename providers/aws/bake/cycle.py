"""The steps around the image: patch, prepare, restore and the test boot (``Cycle``).

``BakeRun`` (steps.py) calls these at their places in the bake:

- patch    before the hold and the stop: AWS-RunPatchBaseline, waiting out the reboot
           it may ask for (the instance serves meanwhile).
- prepare  after the patch, before CreateImage (in ``stop`` mode before the stop, in
           ``reboot`` and ``live`` just before CreateImage).
- restore  after the restart (``live``: after CreateImage); also after a failure once
           prepare was sent, so the instance ends as it was found.
- boot     once the image is available: one test instance from it must pass both
           status checks (and the verify command); only then is the image tagged
           ``bakery:verified`` and handed on.

Every command is recorded on the instance (``commands.run_command``), so a resumed
run of the same bake adopts a command already sent instead of sending it again; the
test instance is launched with a ClientToken of the bake id and found again by its
tags, so a killed ``up`` leaves nothing behind after the next one.
"""

from __future__ import annotations

from typing import Any

from providers.aws import tags
from providers.aws.bake.commands import patch_instance, run_command, wait_agent_online
from providers.aws.bake.request import BakeRequest
from providers.aws.bake.verify import (
    mark_verified,
    terminate_test_instances,
    verify_image,
)
from providers.aws.callbacks import Log, Now
from providers.aws.errors import BakeryError, CommandFailedError, VerifyFailedError, WaitError
from providers.aws.rules.bake_steps import CommandSpec
from providers.aws.waits import Pacing


class Cycle:
    """The patch, prepare, restore and boot steps of one bake (see the module doc)."""

    def __init__(
        self, ec2: Any, ssm: Any, req: BakeRequest, pacing: Pacing, log: Log, now: Now
    ) -> None:
        self.ec2, self.ssm, self.req = ec2, ssm, req
        self.pacing, self.log, self.now = pacing, log, now
        self.prepare_sent = False

    def patch(self) -> None:
        """AWS-RunPatchBaseline, and the instance back (agent online) after its reboot."""
        if self.req.patch is None:
            return
        self.log(f"patching {self.req.instance_id} ({self.req.patch.operation})")
        patch_instance(
            self.ssm,
            self.ec2,
            self.req.instance_id,
            self.req.patch,
            bake_id=self.req.bake_id,
            pacing=self.pacing,
            log=self.log,
        )

    def prepare(self) -> None:
        """The owner's clean-up before the image."""
        if self.req.prepare is None:
            return
        self.prepare_sent = True
        self._run("prepare", self.req.prepare)

    def restore(self) -> None:
        """The owner's commands after the image (idempotent: adopted on a resumed run)."""
        if self.req.restore is not None:
            self._run("restore", self.req.restore)

    def restore_after_failure(self) -> None:
        """After a failed bake: restore, when prepare was sent; its own failure is
        logged, not raised (the bake's first error is the one to see). A process
        killed outright runs none of this: its re-run adopts the prepare it sent."""
        if not self.prepare_sent:
            return
        try:
            self.restore()
        except (BakeryError, WaitError) as exc:
            self.log(f"restore after the failure failed too: {exc}")
        # The instance is as it was found: a re-run of this bake prepares it again
        # (and restores after), rather than adopting a prepare that was undone.
        keys = [tags.command_tag(step) for step in ("prepare", "restore")]
        self.ec2.delete_tags(Resources=[self.req.instance_id], Tags=[{"Key": k} for k in keys])

    def _run(self, step: str, spec: CommandSpec) -> None:
        self.log(f"{step}: {spec.document} on {self.req.instance_id}")
        run_command(
            self.ssm,
            self.ec2,
            self.req.instance_id,
            spec,
            bake_id=self.req.bake_id,
            step=step,
            pacing=self.pacing,
            log=self.log,
        )

    def boot(self, image: dict[str, Any], snapshot_ids: list[str], instance_type: str) -> None:
        """Prove the image boots; tag it verified, or tag it failed and raise.

        Raises:
            VerifyFailedError: the test instance failed (the image is not handed on).
        """
        spec = self.req.verify
        if spec is None:
            return
        image_id = str(image["ImageId"])
        if tags.VERIFIED in tags.to_dict(image.get("Tags")):
            return  # a resumed run: verified before the crash
        check = self._command_check(spec.command) if spec.command is not None else None
        self.log(f"verify: launching a test instance from {image_id} in {spec.subnet_id}")
        result = verify_image(
            self.ec2,
            image_id,
            spec,
            bake_id=self.req.bake_id,
            default_instance_type=instance_type,
            pacing=self.pacing,
            log=self.log,
            check_command=check,
        )
        mark_verified(self.ec2, image_id, snapshot_ids, result, self.now)
        if not result.passed:
            raise VerifyFailedError(image_id, result.reason)
        self.log(f"verify: {image_id} booted and passed; test instance terminated")

    def clean_up(self) -> None:
        """Terminate test instances an interrupted run of this bake left."""
        if self.req.verify is not None:
            terminate_test_instances(self.ec2, self.req.bake_id, log=self.log)

    def _command_check(self, spec: CommandSpec) -> Any:
        """The verify command on the test instance: the failure's reason, or None."""

        def check(test_instance_id: str) -> str | None:
            try:
                wait_agent_online(
                    self.ssm,
                    test_instance_id,
                    pacing=self.pacing,
                    timeout_s=spec.timeout_s,
                    log=self.log,
                )
            except WaitError as exc:
                return f"the SSM agent never came online on the test instance: {exc}"
            try:
                run_command(
                    self.ssm,
                    self.ec2,
                    test_instance_id,
                    spec,
                    bake_id=self.req.bake_id,
                    step="verify",
                    pacing=self.pacing,
                    log=self.log,
                )
            except CommandFailedError as exc:
                return str(exc)
            return None

        return check
