"""The stack config: every ``bakery:*`` key, read, typed and checked in one place.

A stack bakes (``bakery:bake.*``) or promotes another stack's image
(``bakery:promote.from_stack``), then either stops there (``bakery:mode: bake-only``)
or rolls the image out to a fleet (``bakery:mode: fleet`` and ``bakery:fleet.*``).

Keys may be written flat (``bakery:fleet.min_size: 2``, what ``pulumi config set``
writes) or as one object per section (``bakery:fleet: {min_size: 2}``, what
``pulumi config set --path`` writes). Values arrive from the engine as strings;
numbers, flags, lists and maps are parsed here. Every problem is collected, each an
``InvalidInputError`` naming the full key (``bakery:fleet.min_size``), and raised
once as a ``StackConfigError`` so that ``pulumi preview`` shows them all.

``load(raw)`` is pure (tests call it directly); ``from_pulumi()`` feeds it the
stack's config. The parts, one job each:

    keys.py     the key table (kind, default, README line)
    parse.py    text to values by kind, section objects to flat keys, shared checks
    bake.py, promote.py, fleet.py    one section each: its dataclass and rules
    stack.py    ``load``: the sections together and the rules that span them
    runtime.py  ``from_pulumi``: the running stack's config via ``pulumi.Config``
"""

from stack_config.bake import BakeConfig
from stack_config.fleet import FleetConfig
from stack_config.keys import (
    HEALTH_CHECK_TYPES,
    KEYS,
    LAUNCH_KINDS,
    MODES,
    NAMESPACE,
    ROLLOUTS,
    SECTIONS,
    Key,
)
from stack_config.promote import PromotionConfig
from stack_config.runtime import from_pulumi
from stack_config.stack import StackConfig, load

__all__ = [
    "HEALTH_CHECK_TYPES",
    "KEYS",
    "LAUNCH_KINDS",
    "MODES",
    "NAMESPACE",
    "ROLLOUTS",
    "SECTIONS",
    "BakeConfig",
    "FleetConfig",
    "Key",
    "PromotionConfig",
    "StackConfig",
    "from_pulumi",
    "load",
]
