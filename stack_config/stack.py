"""One stack's config: the sections read together and the rules that span them
(bake or promote, fleet only in fleet mode)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.aws.errors import InvalidInputError, StackConfigError
from providers.aws.rules import validation
from stack_config.bake import BakeConfig, load_bake
from stack_config.fleet import FleetConfig, load_fleet
from stack_config.keys import KEYS, MODES, NAMESPACE, key
from stack_config.merge import merge
from stack_config.parse import Reader, choice, unknown_key
from stack_config.promote import PromotionConfig, load_promotion


@dataclass(frozen=True)
class StackConfig:
    """One stack's config. Exactly one of ``bake`` and ``promotion.from_stack`` is set."""

    mode: str
    region: str | None
    bake: BakeConfig | None
    promotion: PromotionConfig
    fleet: FleetConfig | None
    secret_keys: frozenset[str] = frozenset()
    """Keys set with ``pulumi config set --secret`` (e.g. ``fleet.user_data``)."""

    @property
    def bake_only(self) -> bool:
        return self.mode == "bake-only"

    @property
    def promotes(self) -> bool:
        return self.promotion.from_stack is not None

    @property
    def copies(self) -> bool:
        """The promoted image is copied into this stack (asked for, or another region)."""
        p = self.promotion
        if p.from_stack is None:
            return False
        return p.copy or (p.source_region is not None and p.source_region != self.region)


def load(
    raw: Mapping[str, Any],
    *,
    region: str | None = None,
    stack: str | None = None,
    project: str | None = None,
    secret_keys: Iterable[str] = (),
) -> StackConfig:
    """Read and check a stack's ``bakery:*`` config.

    Args:
        raw: the config values by key, with or without the ``bakery:`` prefix; values
            as the engine sends them (strings) or already parsed.
        region: the stack's ``aws:region`` (None: the AWS default chain decides).
        stack: this stack's name, to refuse promoting from itself.
        project: this project's name, likewise.
        secret_keys: the keys of ``raw`` that are secrets; a secret section
            (``bakery:fleet``) makes each setting it holds secret.

    Returns:
        The typed config.

    Raises:
        StackConfigError: with every problem found, each naming its key.
    """
    problems: list[InvalidInputError] = []
    merged = merge(raw, problems)
    values = merged.values
    problems += [unknown_key(name, value) for name, value in values.items() if name not in KEYS]
    r = Reader({k: v for k, v in values.items() if k in KEYS}, problems)
    problems += validation.check_region(region, "aws:region")

    mode = choice(r, "mode", MODES)
    promotes = r.has("promote.from_stack")
    promotion = load_promotion(r, region, stack, project)

    bake: BakeConfig | None = None
    bake_keys = sorted(k for k in values if k.startswith("bake.") and k in KEYS)
    if promotes:
        if r.has("bake.instance_id"):
            problems.append(
                InvalidInputError(
                    key("bake.instance_id"),
                    values["bake.instance_id"],
                    f"{key('promote.from_stack')} is set too; a stack either bakes its "
                    "image from an instance or promotes another stack's image: remove "
                    f"{key('bake.instance_id')} or {key('promote.from_stack')}",
                )
            )
        problems += [
            InvalidInputError(
                key(name),
                values[name],
                f"nothing is baked when {key('promote.from_stack')} is set; remove it",
            )
            for name in bake_keys
            if name != "bake.instance_id"
        ]
    elif not r.has("bake.instance_id"):
        problems.append(
            InvalidInputError(
                key("bake.instance_id"),
                None,
                "required: the golden instance to bake (pulumi config set "
                f"{key('bake.instance_id')} i-...), or set {key('promote.from_stack')} "
                "to take the image of another stack",
            )
        )
    else:
        bake = load_bake(r)

    fleet: FleetConfig | None = None
    fleet_keys = sorted(k for k in values if k.startswith("fleet.") and k in KEYS)
    if mode == "fleet":
        fleet = load_fleet(r)
        if bake is not None and bake.endpoint_url is not None:
            problems.append(
                InvalidInputError(
                    key("bake.endpoint_url"),
                    bake.endpoint_url,
                    "the fleet's resources go to real AWS, the bake to this endpoint; "
                    f"use {key('mode')} bake-only against a local endpoint",
                )
            )
    else:
        problems += [
            InvalidInputError(
                key(name),
                values[name],
                f"{key('mode')} is bake-only, so no fleet is built; set {key('mode')} "
                "to fleet or remove it",
            )
            for name in fleet_keys
        ]

    if problems:
        raise StackConfigError(problems)
    secrets = {key(name.removeprefix(f"{NAMESPACE}:")) for name in secret_keys}
    return StackConfig(
        mode=mode,
        region=region,
        bake=bake,
        promotion=promotion,
        fleet=fleet,
        secret_keys=frozenset(
            name for name, sources in merged.sources.items() if sources & secrets
        ),
    )
