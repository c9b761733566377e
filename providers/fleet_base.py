"""What the fleet's dynamic providers share: configure, diff, read and prop checks.

InstanceRefresh, BlueGreenCutover and FleetIdentity each adapt a workflow of
``providers/aws/`` to Pulumi's contract. They hold only plain data (Pulumi pickles
them into the state) and build boto3 clients inside each method (one ``Clients`` per
call of ``clients``). ``PACING`` is looked up on this module at call time, so tests swap
it here; clients are swapped at ``providers.aws.clients.make_client``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pulumi.dynamic import CheckFailure, ConfigureRequest, DiffResult, ReadResult, ResourceProvider

from providers.aws.clients import Clients
from providers.aws.errors import InvalidInputError
from providers.aws.fleet import groups
from providers.aws.rules.rollout import DEFAULT_TIMEOUT_S
from providers.aws.waits import Pacing
from providers.dynamic_props import UNKNOWN, changed

__all__ = ["DEFAULT_TIMEOUT_S", "PACING", "FleetProvider"]

# Time as the providers see it. Tests put a fake clock here; nothing else should.
PACING = Pacing()


def version(value: Any) -> Any:
    """A template version as the string AWS wants ("3"), from 3, 3.0 or "3"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value))
    return value


def clients(props: Mapping[str, Any], region: str | None, *services: str) -> list[Any]:
    """One client per service, built now (never kept on the provider), for the props'
    region (else ``region``, the stack's ``aws:region``) and endpoint."""
    built = Clients.for_props(props, default_region=region)
    return [built.client(s) for s in services]


def required(props: Mapping[str, Any], keys: Sequence[str]) -> list[CheckFailure]:
    """One failure per key that is not a non-empty string (unknowns pass)."""
    failures = []
    for key in keys:
        value = props.get(key)
        if value == UNKNOWN:
            continue
        if not isinstance(value, str) or not value:
            failures.append(CheckFailure(key, f"{key} is {value!r}: give a non-empty string"))
    return failures


def timeout_failure(props: Mapping[str, Any]) -> list[CheckFailure]:
    """A failure when ``timeout_s`` is not a number of seconds above 0."""
    value = props.get("timeout_s", DEFAULT_TIMEOUT_S)
    if value == UNKNOWN:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return [
            CheckFailure(
                "timeout_s", f"timeout_s is {value!r}: give a number of seconds above 0 (e.g. 3600)"
            )
        ]
    return []


def as_failures(problems: Sequence[InvalidInputError]) -> list[CheckFailure]:
    """Workflow input problems as CheckFailures, one per problem."""
    return [CheckFailure(p.field, str(p)) for p in problems]


class FleetProvider(ResourceProvider):
    """configure / diff / read for a resource that lives as long as its group.

    Subclasses name ``INPUTS`` (the props whose change is a change), ``REPLACE_KEYS``
    (those that make a new resource) and may override ``normalized`` to fill the
    defaults of props older states lack, so that they diff as unchanged.
    """

    serialize_as_secret_always = False  # plain data only: nothing secret to hide
    INPUTS: ClassVar[tuple[str, ...]] = ()
    REPLACE_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.default_region: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack's ``aws:region`` for props that name none."""
        self.default_region = req.config.get("aws:region")

    def normalized(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """``props`` with the defaults of keys added since older states were written."""
        return dict(props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change of ``INPUTS`` updates; of ``REPLACE_KEYS``, replaces (new first)."""
        differs = changed(self.normalized(olds), self.normalized(news), self.INPUTS)
        return DiffResult(
            changes=bool(differs),
            replaces=[k for k in differs if k in self.REPLACE_KEYS],
            delete_before_replace=False,
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs while the group exists; an empty id once it is gone."""
        (autoscaling,) = clients(props, self.default_region, "autoscaling")
        if groups.describe_group(autoscaling, props.get("group_name") or id_) is None:
            return ReadResult("", {})
        return ReadResult(id_, props)
