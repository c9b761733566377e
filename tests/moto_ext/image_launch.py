"""moto extension: RunInstances as EC2 does it for an image and a client token.

moto 5.2 launches from any image id (AMI validation is off unless
``MOTO_ENABLE_AMI_VALIDATION``) and only stores ``ClientToken``. EC2:

* launches only from an image that exists and is ``available``: an unknown id is
  ``InvalidAMIID.NotFound``; a pending, failed or disabled one ``InvalidAMIID.Unavailable``
  (EC2 API reference, "Error codes for the Amazon EC2 API"; Image.State).
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html
* is idempotent with a client token: a repeat with the same token and parameters returns
  the same reservation (the instance's state may differ, terminated included: the token
  stays valid for at least 24 hours after termination); the same token with other
  parameters is ``IdempotentParameterMismatch``.
  https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html

* TerminateInstances is idempotent by default (same page): terminating a terminated
  instance succeeds (moto tries to delete its network interface again and fails with
  InvalidNetworkInterfaceID.NotFound).

Only requests that send a ``ClientToken`` are remembered (botocore fills one in for every
RunInstances: the model marks it an idempotency token).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance
from moto.ec2.responses.instances import InstanceResponse

from tests.moto_ext import nesting

_original: dict[str, Any] = {}
_RUN_STATE = "RunInstances.Reservation.Instances.Instance.State"
# Not part of what the token must match: the token itself and the protocol's own keys.
_NOT_COMPARED = frozenset({"ClientToken", "Action", "Version"})


def _tokens(backend: Any) -> dict[str, tuple[str, Any]]:
    """client token -> (request fingerprint, reservation), per account and region."""
    if not hasattr(backend, "_bakery_client_tokens"):
        backend._bakery_client_tokens = {}
    return backend._bakery_client_tokens


def _fingerprint(querystring: dict[str, Any]) -> str:
    kept = {k: v for k, v in querystring.items() if k not in _NOT_COMPARED}
    return json.dumps(kept, sort_keys=True, default=str)


def _check_image(backend: Any, image_id: str | None) -> None:
    image = backend.amis.get(image_id) if image_id else None
    if image is None:
        raise EC2ClientError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
    state = getattr(image, "state", "available")
    if state != "available":
        raise EC2ClientError(
            "InvalidAMIID.Unavailable",
            f"The image id '[{image_id}]' is {state} and cannot be launched: "
            "an image launches once it is available",
        )


def _run_instances(self: InstanceResponse) -> Any:
    token = self._get_param("ClientToken")
    seen = _tokens(self.ec2_backend)
    fingerprint = _fingerprint(dict(self.querystring))
    if token and token in seen:
        wanted, reservation = seen[token]
        if wanted != fingerprint:
            raise EC2ClientError(
                "IdempotentParameterMismatch",
                "Arguments on this idempotent request are inconsistent with arguments "
                "used in previous request(s).",
            )
        # moto reports every RunInstances instance "pending"; a repeat shows it as it is.
        self.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
            **type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER,
            _RUN_STATE: lambda state: state,
        }
        return ActionResult(reservation)
    _check_image(self.ec2_backend, self._get_param("ImageId"))
    result = _original["run"](self)
    if token:
        seen[token] = (fingerprint, result.result)
    return result


def _terminate(self: Instance) -> Any:
    if self.state == "terminated":
        return copy.copy(self._state)
    return _original["terminate"](self)


def install() -> None:
    """Patch moto; wraps whatever RunInstances is installed now (e.g. instance_hazards)."""
    _original["run"] = InstanceResponse.run_instances
    _original["terminate"] = Instance.terminate
    InstanceResponse.run_instances = _run_instances  # type: ignore[method-assign]
    Instance.terminate = _terminate  # type: ignore[method-assign]


def uninstall() -> None:
    """Put RunInstances and terminate back as they were at install."""
    InstanceResponse.run_instances = _original.pop("run")  # type: ignore[method-assign]
    Instance.terminate = _original.pop("terminate")  # type: ignore[method-assign]


# Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests.
installed = nesting(install, uninstall)
