"""The two forms Pulumi writes for one setting, merged into flat keys.

``pulumi config set bakery:bake.tags '{"env": "dev"}'`` writes a flat key;
``pulumi config set --path 'bakery:bake.tags.team' web`` writes an entry inside the
``bakery:bake`` object (a section). A stack file may hold both, so they merge: a map
into a map, key by key. A value both forms set alike is kept once; set differently,
it is refused with both config keys named, since neither can be assumed to be the
one the user meant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import InvalidInputError
from stack_config.keys import KEYS, NAMESPACE, SECTIONS, key


@dataclass
class Merged:
    """Flat settings (``bake.tags``) and, for each, the config keys that set it."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, set[str]] = field(default_factory=dict)


def merge(raw: Mapping[str, Any], problems: list[InvalidInputError]) -> Merged:
    """Section objects (``bake: {...}``) and flat keys (``bake.instance_id``) as flat keys.

    Args:
        raw: config values by key, with or without the ``bakery:`` prefix.
        problems: where a section that is not a map, or a conflict, is recorded.
    """
    merged = Merged()
    for name, value in raw.items():
        name = name.removeprefix(f"{NAMESPACE}:")
        if name in SECTIONS:
            section = _decoded(value)
            if not isinstance(section, Mapping):
                problems.append(
                    InvalidInputError(
                        key(name), value, f"expected a map of {name}.* settings, or flat keys"
                    )
                )
                continue
            entries = [(f"{name}.{sub}", sub_value) for sub, sub_value in section.items()]
        else:
            entries = [(name, value)]
        for full, entry in entries:
            if full in merged.values:
                merged.values[full] = _combined(
                    full,
                    _typed(full, merged.values[full]),
                    " and ".join(sorted(merged.sources[full])),
                    _typed(full, entry),
                    key(name),
                    problems,
                )
            else:
                merged.values[full] = entry
            merged.sources.setdefault(full, set()).add(key(name))
    return merged


def _decoded(value: Any) -> Any:
    """JSON text (how the engine passes objects and lists) as the value it encodes."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _typed(name: str, value: Any) -> Any:
    """A value comparable with its other form: maps and lists decoded, ``a,b`` split."""
    kind = KEYS[name].kind if name in KEYS else None
    value = _decoded(value)
    if kind in ("list", "int_list") and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _combined(
    path: str, a: Any, a_source: str, b: Any, b_source: str, problems: list[InvalidInputError]
) -> Any:
    """``a`` and ``b`` as one value: maps key by key, anything else only when equal."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = dict(a)
        for sub, value in b.items():
            out[sub] = (
                _combined(f"{path}.{sub}", out[sub], a_source, value, b_source, problems)
                if sub in out
                else value
            )
        return out
    if not _same(a, b):
        problems.append(_conflict(path, (a, a_source), (b, b_source)))
    return a


def _conflict(path: str, *sets: tuple[Any, str]) -> InvalidInputError:
    """``path`` set differently by a flat key and by its section (named in that order)."""
    sections = {key(name) for name in SECTIONS}
    (flat, flat_source), (nested, nested_source) = sorted(sets, key=lambda s: s[1] in sections)
    return InvalidInputError(
        key(path),
        "set twice",
        f"{flat_source} sets it to {flat!r} and {nested_source} to {nested!r} "
        f"(as `pulumi config set --path '{key(path)}'` writes it); keep one",
    )


def _same(a: Any, b: Any) -> bool:
    """Equal once text is read as the engine would (``"3"`` is 3, ``"true"`` is true)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return _scalar(a) == _scalar(b)


def _scalar(value: Any) -> tuple[str, Any]:
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return ("bool", text.lower() == "true")
        try:
            return ("number", float(text))
        except ValueError:
            return ("text", text)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("other", value)
