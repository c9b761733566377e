"""moto extension: status checks that take their time, and images that do not boot.

moto 5.2 reports both status checks of a running instance ``ok`` at once. EC2 runs them
only once the instance is running, reports ``initializing`` while they run (a few
minutes), then ``ok`` or ``impaired`` (a check failed: e.g. an image whose kernel does
not boot fails the instance's reachability check); ``not-applicable`` for an instance
that is not running, listed only with ``IncludeAllInstances``.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-system-instance-status-check.html
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceStatus.html
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceStatusSummary.html
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceStatusDetails.html

This model: each running instance answers ``initializing`` for its first
``INITIALIZING_LOOKS`` DescribeInstanceStatus looks, then ``ok``; an instance of an image
given to ``impair_image`` answers ``impaired`` for the check named (reachability
``failed``, with ``ImpairedSince``) instead of ``ok``. Tests set both. With
tests/moto_ext/latency.py installed, the checks initialize for ``boot_s`` of its clock
from the first look instead (benchmarks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses.instances import InstanceResponse

from tests.moto_ext import latency, nesting

INITIALIZING_LOOKS = 2
# image id -> the check its instances fail: "instance" or "system".
_impaired: dict[str, str] = {}
# instance id -> looks at its status so far.
_looks: dict[str, int] = {}
_original: dict[str, Any] = {}
# instance id -> clock time of its first look while running (latency.py installed).
_first_look: dict[str, float] = {}


def impair_image(image_id: str, check: str = "instance") -> None:
    """Instances of ``image_id`` fail ``check`` ("instance" or "system") once checked."""
    if check not in ("instance", "system"):
        raise ValueError(check)
    _impaired[image_id] = check


def looks(instance_id: str) -> int:
    """How many times DescribeInstanceStatus reported on the instance."""
    return _looks.get(instance_id, 0)


def _summary(status: str, since: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Name": "reachability",
        "Status": {"ok": "passed", "impaired": "failed"}.get(status, status),
    }
    if since:
        detail["ImpairedSince"] = since
    return {"Status": status, "Details": [detail]}


def _status_of(instance: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "InstanceId": instance.id,
        "AvailabilityZone": instance.placement,
        "InstanceState": {"Code": instance.state_code, "Name": instance.state},
    }
    if instance.state != "running":
        entry["SystemStatus"] = {"Status": "not-applicable"}
        entry["InstanceStatus"] = {"Status": "not-applicable"}
        return entry
    _looks[instance.id] = _looks.get(instance.id, 0) + 1
    checks = {"system": "ok", "instance": "ok"}
    since = None
    timing = latency.timed()
    if timing is not None:  # checks take boot_s of (virtual) time from the first look
        lat, clock = timing
        first = _first_look.setdefault(instance.id, clock())
        initializing = clock() - first < lat.boot_s
    else:
        initializing = _looks[instance.id] <= INITIALIZING_LOOKS
    if initializing:
        checks = {"system": "initializing", "instance": "initializing"}
    elif instance.image_id in _impaired:
        checks[_impaired[instance.image_id]] = "impaired"
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    entry["SystemStatus"] = _summary(checks["system"], since if checks["system"] != "ok" else None)
    entry["InstanceStatus"] = _summary(
        checks["instance"], since if checks["instance"] != "ok" else None
    )
    return entry


def _describe_instance_status(self: InstanceResponse) -> ActionResult:
    instance_ids = self._get_param("InstanceIds", [])
    include_all = self._get_bool_param("IncludeAllInstances", False)
    filters = [{"name": k, "values": v} for k, v in self._filters_from_querystring().items()]
    instances = self.ec2_backend.describe_instance_status(instance_ids, include_all, filters)
    return ActionResult({"InstanceStatuses": [_status_of(i) for i in instances]})


def install() -> None:
    """Patch moto (a moto server process that serves tests, or in-process)."""
    _original["describe"] = InstanceResponse.describe_instance_status
    InstanceResponse.describe_instance_status = _describe_instance_status  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto back as it was and forget scripted images and looks."""
    InstanceResponse.describe_instance_status = _original.pop("describe")  # type: ignore[method-assign]
    _impaired.clear()
    _looks.clear()
    _first_look.clear()


# Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests.
installed = nesting(install, uninstall)
