"""moto extension: AMI copies that fail, as the EC2 pages document them.

moto 5.2's CopyImage always succeeds and its copy is ``available`` at once. AWS's can
fail two ways, each modelled here for one destination region at a time:

- **CopyImage refused** with an error code (``refuse_copies_to``): e.g.
  ``ResourceLimitExceeded`` ("You have exceeded an Amazon EC2 resource limit. For
  example, you might have too many snapshot copies in progress": EC2 API reference,
  "Error codes for the Amazon EC2 API",
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; a
  destination Region runs at most 300 concurrent AMI copies: EC2 User Guide, "Copy an
  Amazon EC2 AMI", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html),
  or a KMS key the copy cannot use (``CustomerKeyHasBeenRevoked``, same errors page).
  Nothing is created.
- **The copy goes to ``failed``** with a ``StateReason`` (``fail_copies_to``): the copy
  is made (its id returned, its snapshots in the region), then DescribeImages reports
  ``State: failed`` and ``StateReason`` {Code, Message} ("The reason for the state
  change": EC2 API reference, Image,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html). The
  reference lists no StateReason codes for a failed copy; tests pick one.

Both wrap whatever CopyImage is installed (stock moto's, or kms_keys.py's), so they
compose with the other extensions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.amis import AmisResponse


@dataclass(frozen=True)
class _Fault:
    region: str
    code: str
    message: str
    refuse: bool  # True: CopyImage answers the error; False: the copy goes failed


_faults: dict[str, _Fault] = {}


def _copy_image(self: AmisResponse) -> Any:
    fault = _faults.get(self.ec2_backend.region_name)
    if fault is not None and fault.refuse:
        raise EC2ClientError(fault.code, fault.message)
    result = _installed_copy(self)
    if fault is not None:
        copy = self.ec2_backend.amis[result.result["ImageId"]]
        copy.state = "failed"
        copy.state_reason = {"Code": fault.code, "Message": fault.message}
    return ActionResult(result.result)


_installed_copy: Any = None


@contextmanager
def _faulted(fault: _Fault) -> Iterator[None]:
    global _installed_copy
    outer = _installed_copy is None
    if outer:
        _installed_copy = AmisResponse.copy_image
        AmisResponse.copy_image = _copy_image  # type: ignore[method-assign]
    _faults[fault.region] = fault
    try:
        yield
    finally:
        _faults.pop(fault.region, None)
        if outer:
            AmisResponse.copy_image = _installed_copy  # type: ignore[method-assign]
            _installed_copy = None


def refuse_copies_to(
    region: str,
    code: str = "ResourceLimitExceeded",
    message: str = "You have exceeded an Amazon EC2 resource limit.",
) -> Any:
    """While open, CopyImage into ``region`` is refused with ``code``; nothing is made."""
    return _faulted(_Fault(region, code, message, refuse=True))


def fail_copies_to(
    region: str,
    code: str = "Server.InternalError",
    message: str = "Internal error while copying the image",
) -> Any:
    """While open, a copy into ``region`` is made, then reported ``failed`` with a
    StateReason of ``code`` and ``message``."""
    return _faulted(_Fault(region, code, message, refuse=False))
