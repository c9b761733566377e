"""Text to values: engine strings parsed by key kind, and the shared checks (unknown
key, choice, id list) every section uses."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from providers.aws.errors import InvalidInputError
from stack_config.keys import KEYS, key


def _parsed_number(raw: Any) -> Any:
    """A number written as text (`pulumi config set` stores strings) as a float; else as is."""
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return raw
    return raw


def _number(raw: Any) -> Any:
    """Text that is a finite number as that number (an int when whole); else as is."""
    if not isinstance(raw, str):
        return raw
    value = _parsed_number(raw)
    if not isinstance(value, float) or not math.isfinite(value):
        return raw
    return int(value) if value.is_integer() else value


class Reader:
    """Parses raw values (strings from the engine, or native values) by key kind."""

    def __init__(self, values: Mapping[str, Any], problems: list[InvalidInputError]) -> None:
        self.values = values
        self.problems = problems

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def _bad(self, name: str, found: Any, fix: str) -> None:
        self.problems.append(InvalidInputError(key(name), found, fix))

    def get(self, name: str) -> Any:
        """The parsed value of ``name`` (its default when unset or unparseable)."""
        spec = KEYS[name]
        raw = self.values.get(name)
        if raw is None:
            return spec.default
        parse: Callable[[str, Any], Any] = getattr(self, f"_{spec.kind}")
        return parse(name, raw)

    def _str(self, name: str, raw: Any) -> Any:
        if isinstance(raw, str):
            return raw.strip() or None
        self._bad(name, raw, "expected text")
        return KEYS[name].default

    def _int(self, name: str, raw: Any) -> Any:
        value = _parsed_number(raw)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            self._bad(name, raw, "expected a whole number")
            return KEYS[name].default
        return int(value)

    def _number(self, name: str, raw: Any) -> Any:
        value = _parsed_number(raw)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(name, raw, "expected a number")
            return KEYS[name].default
        return float(value)

    def _bool(self, name: str, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        self._bad(name, raw, "expected true or false")
        return KEYS[name].default

    def _list(self, name: str, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    self._bad(name, raw, 'expected a list, e.g. ["a", "b"] or a,b')
                    return KEYS[name].default
            else:
                # `pulumi config set bakery:fleet.subnet_ids subnet-a,subnet-b`
                value = [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            self._bad(name, raw, 'expected a list, e.g. ["a", "b"] or a,b')
            return KEYS[name].default
        return list(value)

    def _int_list(self, name: str, raw: Any) -> Any:
        """A list of whole numbers; ``"20"`` (``pulumi config set --type string``) is 20."""
        return [_number(item) for item in self._list(name, raw)]

    def _number_map(self, name: str, raw: Any) -> Any:
        """A map of numbers; ``"240"`` is 240."""
        return {k: _number(v) for k, v in self._map(name, raw).items()}

    def _map(self, name: str, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        if not isinstance(value, Mapping):
            self._bad(name, raw, 'expected a map, e.g. {"team": "web"}')
            return KEYS[name].default
        return dict(value)


def unknown_key(name: str, value: Any) -> InvalidInputError:
    """A key not in the table, with the nearest one (or the --path form it wanted)."""
    parent = next(
        (k for k in KEYS if KEYS[k].kind.endswith("map") and name.startswith(f"{k}.")), None
    )
    if parent is not None:
        # `pulumi config set bakery:bake.tags.team web` without --path: a flat key.
        return InvalidInputError(
            key(name),
            value,
            f"one entry of the map {key(parent)} is set with "
            f"`pulumi config set --path '{key(name)}' <value>`; "
            f"remove this key (pulumi config rm '{key(name)}')",
        )
    close = difflib.get_close_matches(name, KEYS, n=1)
    hint = f"did you mean {key(close[0])}? " if close else ""
    return InvalidInputError(
        key(name),
        value,
        f"not a Bakery setting; {hint}the README's config table lists every key",
    )


def check_ids(
    values: list[Any], name: str, pattern: re.Pattern[str], example: str
) -> list[InvalidInputError]:
    return [
        InvalidInputError(f"{key(name)}[{i}]", v, f"expected an id like {example}")
        for i, v in enumerate(values)
        if not isinstance(v, str) or not pattern.match(v)
    ]


def choice(r: Reader, name: str, allowed: tuple[str, ...]) -> str:
    value = r.get(name)
    if value not in allowed:
        r.problems.append(InvalidInputError(key(name), value, f"give one of {', '.join(allowed)}"))
        return str(KEYS[name].default)
    return str(value)
