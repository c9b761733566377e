"""The names earlier Bakery versions' stacks hold in their state, kept importable.

A dynamic resource's state holds its provider pickled *by reference*
(``providers.rollout.InstanceRefreshProvider``, ``...BlueGreenCutoverProvider``):
the engine unpickles it for ``read`` and ``delete`` of resources written by an older
Bakery, and then runs today's code. The classes live in ``providers/instance_refresh.py``
and ``providers/cutover.py``; their type tokens (``bakery:InstanceRefresh``,
``bakery:BlueGreenCutover``) are unchanged.
"""

from __future__ import annotations

from providers.cutover import BlueGreenCutover, BlueGreenCutoverArgs, BlueGreenCutoverProvider
from providers.instance_refresh import InstanceRefresh, InstanceRefreshArgs, InstanceRefreshProvider

__all__ = [
    "BlueGreenCutover",
    "BlueGreenCutoverArgs",
    "BlueGreenCutoverProvider",
    "InstanceRefresh",
    "InstanceRefreshArgs",
    "InstanceRefreshProvider",
]
