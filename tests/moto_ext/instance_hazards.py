"""moto extension: golden-instance hazards that moto 5.2 does not model, as AWS does them.

- Hibernation: ``StopInstances(Hibernate=True)`` on an instance launched with
  ``HibernationOptions.Configured`` leaves it stopped with StateReason
  ``Client.UserInitiatedHibernate`` (moto ignores Hibernate and reports a plain
  ``Client.UserInitiatedShutdown``).
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-hibernate-overview.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StateReason.html
- Spot: an instance of a one-time Spot request (the default SpotInstanceType) cannot be
  stopped: StopInstances fails with UnsupportedOperation (moto stops it). A persistent
  request's instance can be stopped.
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances-request.html
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SpotMarketOptions.html

What moto already models and Bakery's tests rely on (checked on moto 5.2.5): the
``aws:autoscaling:groupName`` tag and DescribeAutoScalingInstances for group members,
instance storage in DescribeInstanceTypes (m5d.large: 75 GB), Mac types (mac2.metal),
DescribeInstanceAttribute ``disableApiStop`` and StopInstances refused under it,
``InstanceLifecycle: spot``. Not modelled: a Mac instance's ~15 minutes in ``stopping``
and its host's scrubbing after a stop (the pre-flight refuses the stop from the type
alone, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/mac-instance-stop.html).
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import StateReason
from moto.ec2.responses.instances import InstanceResponse

from tests.moto_ext import nesting

_original_run = InstanceResponse.run_instances
_original_stop = InstanceResponse.stop_instances
_HIBERNATE = "Client.UserInitiatedHibernate"


def _run_instances(self: InstanceResponse) -> Any:
    result = _original_run(self)
    spot_type = self._get_param("InstanceMarketOptions.SpotOptions.SpotInstanceType")
    for instance in result.result.instances:  # type: ignore[attr-defined]
        instance._bakery_spot_type = spot_type or "one-time"
    return result


def _stop_instances(self: InstanceResponse) -> Any:
    ids = self._get_param("InstanceIds", [])
    instances = self.ec2_backend.get_multi_instances_by_id(ids)
    for instance in instances:
        if instance.lifecycle == "spot" and getattr(instance, "_bakery_spot_type", "") in (
            "one-time",
            "",
        ):
            raise EC2ClientError(
                "UnsupportedOperation",
                f"You can't stop the Spot Instance '{instance.id}' because it is associated "
                "with a one-time Spot Instance request. You can only stop Spot Instances "
                "associated with persistent Spot Instance requests.",
            )
    result = _original_stop(self)
    if self._get_param("Hibernate"):
        for instance in instances:
            if (instance.hibernation_options or {}).get("Configured"):
                instance.state_reason = StateReason(
                    f"{_HIBERNATE}: Hibernation was initiated on the instance.", _HIBERNATE
                )
    return result


def install() -> None:
    """Patch moto for good (a moto server process that serves tests)."""
    InstanceResponse.run_instances = _run_instances  # type: ignore[method-assign]
    InstanceResponse.stop_instances = _stop_instances  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto back as it was."""
    InstanceResponse.run_instances = _original_run  # type: ignore[method-assign]
    InstanceResponse.stop_instances = _original_stop  # type: ignore[method-assign]


# Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests.
installed = nesting(install, uninstall)
