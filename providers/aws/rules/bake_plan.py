"""Planning a bake from props, as pure functions (no AWS, no Pulumi).

What ``BakedImageProvider.check`` decides, written once and testable alone: the
consistency mode (``stop_instance`` still read), whether the inputs ask for a new
bake, the deterministic bake id, the generated AMI name, and the same-name rule.

Derived bookkeeping lives in ``__`` keys (``__bake_id``, ``__name``), which the
Pulumi CLI leaves out of previews. Props written by earlier Bakery versions keep
theirs in ``bake_id`` / ``name`` (with ``__user_named``); every reader here accepts
both, so an existing stack plans as no change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.rules import validation

CONSISTENCY_MODES = ("stop", "reboot", "live")
DEFAULT_CONSISTENCY = "stop"
# What defines a bake: these (and the previous bake id) feed the bake id. A generated
# name is not one of them (it derives from the id); how the instance is kept
# consistent is not either (it changes how a future bake runs, not the image asked for).
BAKE_KEYS = ("instance_id", "name", "triggers", "region", "endpoint_url")
BAKE_ID = "__bake_id"
IMAGE_NAME = "__name"
USER_NAMED = "__user_named"
# The golden instance's patch state fingerprint (``rebake_on: [patch_state]``): read at
# check, recorded after the bake; it feeds the bake id only while both sides have it,
# so turning ``rebake_on`` on or off records or forgets it without a re-bake.
PATCH_STATE = "__patch_state"


@dataclass(frozen=True)
class BakePlan:
    """What check concludes for one BakedImage."""

    consistency: str
    bake_id: str
    image_name: str
    rebake: bool
    problems: list[InvalidInputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def bake_id_for(lineage: str, bake_inputs: Mapping[str, Any], previous: str | None) -> str:
    """A deterministic id for one bake: same inputs and history, same id.

    ``previous`` (the bake id being replaced) makes a re-bake to inputs seen
    before (triggers A -> B -> A) a new bake rather than an adoption of A.
    """
    blob = json.dumps([lineage, bake_inputs, previous or ""], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def consistency_of(props: Mapping[str, Any]) -> str:
    """The mode: ``consistency``, else the deprecated ``stop_instance`` (true = stop,
    false = live), else stop."""
    mode = props.get("consistency")
    if mode:
        return str(mode)
    if props.get("stop_instance") is False:
        return "live"
    return DEFAULT_CONSISTENCY


def bake_id_of(props: Mapping[str, Any]) -> str | None:
    """The bake id recorded in props of any Bakery version."""
    value = props.get(BAKE_ID) or props.get("bake_id")
    return str(value) if value else None


def image_name_of(props: Mapping[str, Any]) -> str | None:
    """The AMI name in use (the user's or the generated one)."""
    value = props.get(IMAGE_NAME) or props.get("name")
    return str(value) if value else None


def user_name_of(props: Mapping[str, Any]) -> str | None:
    """The name the user chose, if any (older props hold a generated one in ``name``)."""
    # Props without the flag: only today's inputs keep a generated name out of ``name``.
    chosen = bool(props[USER_NAMED]) if USER_NAMED in props else BAKE_ID in props
    value = props.get("name") if chosen else None
    return str(value) if value else None


def _bake_key(props: Mapping[str, Any], user_name: str | None) -> dict[str, Any]:
    key = {k: props.get(k) for k in BAKE_KEYS}
    key["name"] = user_name
    if props.get("reencrypt_with"):  # only when set: older bakes keep their id
        key["reencrypt_with"] = props["reencrypt_with"]
    if props.get(PATCH_STATE):
        key[PATCH_STATE] = props[PATCH_STATE]
    return _canonical(key)


def check_consistency(props: Mapping[str, Any]) -> tuple[list[InvalidInputError], list[str]]:
    """Problems and deprecation notes of ``consistency`` / ``stop_instance``."""
    problems: list[InvalidInputError] = []
    notes: list[str] = []
    mode, legacy = props.get("consistency"), props.get("stop_instance")
    if mode is not None and mode not in CONSISTENCY_MODES:
        problems.append(
            InvalidInputError(
                "consistency", mode, f"expected one of {', '.join(CONSISTENCY_MODES)}"
            )
        )
    if legacy is not None:
        problems += validation.check_bool(legacy, "stop_instance")
        implied = "stop" if legacy is True else "live"
        if mode is not None and mode != implied and legacy in (True, False):
            problems.append(
                InvalidInputError(
                    "stop_instance",
                    legacy,
                    f"it means consistency {implied!r}, but consistency is {mode!r}; "
                    "remove stop_instance (it is deprecated)",
                )
            )
        elif mode is None and legacy in (True, False):
            notes.append(
                f"stop_instance is deprecated: use consistency: {implied} "
                "(stop, reboot or live); it means the same"
            )
    return problems, notes


def plan_bake(olds: Mapping[str, Any], inputs: Mapping[str, Any]) -> BakePlan:
    """Decide the bake for validated, known ``inputs`` (the program's props, ``name``
    only if the user chose one) given the previous stored inputs.

    Same bake-defining inputs as before: the same bake id and name (no re-bake). Else
    a new bake id (from the inputs and the id replaced), a generated name unless the
    user chose one, and a problem if the user's name did not change with a re-bake
    (the new AMI is created before the old one is retired; names are unique).
    """
    problems, notes = check_consistency(inputs)
    user_name = str(inputs["name"]) if inputs.get("name") else None
    key = _bake_key(inputs, user_name)
    old_id = bake_id_of(olds) if olds else None
    old_key = _bake_key(olds, user_name_of(olds)) if olds else None
    if old_key is not None and (PATCH_STATE in key) != (PATCH_STATE in old_key):
        if PATCH_STATE in key:
            notes.append("rebake_on patch_state: recording the instance's patch state")
        compared = {k: v for k, v in key.items() if k != PATCH_STATE}
        old_key = {k: v for k, v in old_key.items() if k != PATCH_STATE}
    else:
        compared = key
    rebake = not olds or old_id is None or old_key != compared
    bake_id = old_id if not rebake and old_id else bake_id_for(inputs["lineage"], key, old_id)
    if user_name is None:
        old_name = image_name_of(olds) if olds else None
        if not rebake and old_name:
            name = old_name
        else:
            base = validation.safe_image_name(str(inputs["lineage"]).rsplit("/", 1)[-1])
            name = f"{base[:100]}-{bake_id[:10]}"
    else:
        name = user_name
        if rebake and olds and image_name_of(olds) == user_name:
            problems.append(
                InvalidInputError(
                    "name",
                    user_name,
                    "a re-bake creates the new AMI before the old one is retired and "
                    "AMI names are unique per region; change name together with the "
                    "triggers, or leave name unset for a generated one",
                )
            )
    return BakePlan(consistency_of(inputs), bake_id, name, rebake, problems, notes)


def _canonical(key: dict[str, Any]) -> dict[str, Any]:
    """Numbers as the engine sends them (floats), so 1 == 1.0 across old and new props."""
    canonical: dict[str, Any] = json.loads(json.dumps(key, default=str), parse_int=float)
    return canonical
