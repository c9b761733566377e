"""moto extension: state changes that take time, as on AWS.

In moto every state change is instant, so waits succeed on the first poll and a
bake has no "middle". With this installed, against a clock of the caller's choice
(a fake clock for benchmarks, ``time.monotonic`` in a test server):

- StopInstances: ``stopping`` for ``stop_s``, then ``stopped``;
- StartInstances: ``pending`` for ``start_s``, then ``running``;
- a new snapshot: ``pending`` (progress rising) for ``snapshot_s``, then ``completed``;
- a new image: ``pending`` for ``image_s``, then ``available``;
- Run Command and status checks (ssm_commands.py, instance_status.py read ``timed``):
  a patch takes ``patch_s``, another command ``command_s``, a new instance's status
  checks ``boot_s`` from its first look while running;
- CreateImage (faithful_images.py calls ``image_created``): its snapshots start at
  once and take ``snapshot_s``; the image is ``pending`` until they are completed and
  ``image_s`` more (AWS makes an image available only once its snapshots are
  complete: EC2 User Guide, "Create an Amazon EBS-backed AMI"). With a reboot
  (NoReboot false) the instance is shut down and booted again by EC2, ``reboot_s``
  in all; it stays ``running`` in DescribeInstances meanwhile (a reboot is not a
  state change: EC2 User Guide, "Reboot your instance"), and ``rebooted`` records
  when it is serving again, for benchmarks.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from moto.ec2.models.amis import Ami
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.models.instances import Instance

Clock = Callable[[], float]


@dataclass(frozen=True)
class Latency:
    """Seconds each transition takes."""

    stop_s: float = 30.0
    start_s: float = 20.0
    snapshot_s: float = 600.0
    image_s: float = 300.0
    reboot_s: float = 45.0
    # Run Command (tests/moto_ext/ssm_commands.py): an AWS-RunPatchBaseline Install,
    # and any other command, from SendCommand to its end; a new instance's status
    # checks (instance_status.py) from running to ``ok``.
    patch_s: float = 600.0
    command_s: float = 30.0
    boot_s: float = 90.0

    def scaled(self, factor: float) -> Latency:
        return Latency(
            *(getattr(self, f.name) * factor for f in fields(self))  # every duration
        )


_settings: dict[str, Any] = {"clock": time.monotonic, "latency": Latency(), "installed": False}
# (instance id, seconds of reboot) of each CreateImage with a reboot, for benchmarks.
rebooted: list[tuple[str, float]] = []


def timed() -> tuple[Latency, Clock] | None:
    """The latency and clock when installed: other models (SSM commands, status
    checks) time their transitions by them too."""
    if not _settings["installed"]:
        return None
    return _settings["latency"], _settings["clock"]


def image_created(ami: Any, snapshots: list[Any], *, reboot: bool) -> None:
    """CreateImage made ``ami`` of ``snapshots``: time them (no-op unless installed)."""
    if not _settings["installed"]:
        return
    lat: Latency = _settings["latency"]
    for snapshot in snapshots:
        snapshot._created_at = _now()
    ami.__dict__["_ready_at"] = _now() + lat.snapshot_s + lat.image_s
    if reboot and ami.instance is not None and ami.instance.state == "running":
        rebooted.append((ami.instance.id, lat.reboot_s))


_CODES = {"pending": 0, "running": 16, "stopping": 64, "stopped": 80}


def _now() -> float:
    return float(_settings["clock"]())


class _TimedState:
    """An instance state that reads ``during`` until ``until``, then ``after``."""

    def __init__(self, during: str, after: str, until: float) -> None:
        self._during, self._after, self._until = during, after, until
        self._fixed: tuple[str, int] | None = None

    def _current(self) -> tuple[str, int]:
        if self._fixed is not None:
            return self._fixed
        name = self._during if _now() < self._until else self._after
        return name, _CODES[name]

    @property
    def name(self) -> str:
        return self._current()[0]

    @name.setter
    def name(self, value: str) -> None:  # moto's own transitions (terminate, ...) win
        self._fixed = (value, _CODES.get(value, 48))

    @property
    def code(self) -> int:
        return self._current()[1]

    @code.setter
    def code(self, value: int) -> None:
        self._fixed = (self._current()[0], value)

    def __copy__(self) -> Any:
        from moto.ec2.models.instances import InstanceState

        name, code = self._current()
        return InstanceState(name, code)


_original: dict[str, Any] = {
    "stop": Instance.stop,
    "start": Instance.start,
    "snapshot_init": Snapshot.__init__,
    "snapshot_progress": Snapshot.progress,
    "ami_init": Ami.__init__,
}


def _stop(self: Any) -> Any:
    previous = copy.copy(self._state)
    _original["stop"](self)
    self._state = _TimedState("stopping", "stopped", _now() + _settings["latency"].stop_s)
    return previous


def _start(self: Any) -> Any:
    previous = copy.copy(self._state)
    _original["start"](self)
    self._state = _TimedState("pending", "running", _now() + _settings["latency"].start_s)
    return previous


def _snapshot_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original["snapshot_init"](self, *args, **kwargs)
    self._created_at = _now()


def _snapshot_fraction(self: Any) -> float:
    created = getattr(self, "_created_at", None)
    duration = _settings["latency"].snapshot_s
    if created is None or duration <= 0:
        return 1.0
    return min(1.0, (_now() - created) / duration)


def _snapshot_status(self: Any) -> str:
    fixed = self.__dict__.get("_status", "completed")
    if fixed == "completed" and _snapshot_fraction(self) < 1.0:
        return "pending"
    return str(fixed)


def _set_snapshot_status(self: Any, value: str) -> None:
    self.__dict__["_status"] = value


def _snapshot_progress(self: Any) -> str:
    return f"{int(_snapshot_fraction(self) * 100)}%"


def _ami_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original["ami_init"](self, *args, **kwargs)
    self.__dict__["_ready_at"] = _now() + _settings["latency"].image_s


def _ami_state(self: Any) -> str:
    fixed = self.__dict__.get("_state", "available")
    if fixed == "available" and _now() < self.__dict__.get("_ready_at", 0.0):
        return "pending"
    return str(fixed)


def _set_ami_state(self: Any, value: str) -> None:
    self.__dict__["_state"] = value


def _patch(cls: Any, name: str, value: Any) -> None:
    setattr(cls, name, value)


def install(latency: Latency, clock: Clock = time.monotonic) -> None:
    """Make transitions take ``latency`` seconds on ``clock``, until ``uninstall``."""
    _settings["clock"], _settings["latency"] = clock, latency
    _settings["installed"] = True
    _patch(Instance, "stop", _stop)
    _patch(Instance, "start", _start)
    _patch(Snapshot, "__init__", _snapshot_init)
    _patch(Snapshot, "status", property(_snapshot_status, _set_snapshot_status))
    _patch(Snapshot, "progress", property(_snapshot_progress))
    _patch(Ami, "__init__", _ami_init)
    _patch(Ami, "state", property(_ami_state, _set_ami_state))


def uninstall() -> None:
    """Instant transitions again (objects made meanwhile keep plain attributes)."""
    _settings["installed"] = False
    for cls, name, key in (
        (Instance, "stop", "stop"),
        (Instance, "start", "start"),
        (Snapshot, "__init__", "snapshot_init"),
        (Snapshot, "progress", "snapshot_progress"),
        (Ami, "__init__", "ami_init"),
    ):
        _patch(cls, name, _original[key])
    delattr(Snapshot, "status")
    delattr(Ami, "state")


@contextmanager
def installed(latency: Latency, clock: Clock = time.monotonic) -> Iterator[None]:
    """Transitions take ``latency`` seconds on ``clock`` inside the block."""
    install(latency, clock)
    try:
        yield
    finally:
        uninstall()
