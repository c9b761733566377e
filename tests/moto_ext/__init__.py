"""Small, named moto extensions: where moto does less than AWS in a way Bakery relies on.

Each module patches moto only inside its ``installed()`` context manager. Beside them,
the local AWS itself: ``server.py`` (the moto server of scripts/local-up.sh and the e2e
tests) and ``golden.py`` (the golden instance seeded into it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager


def nesting(
    install: Callable[[], None], uninstall: Callable[[], None]
) -> Callable[[], AbstractContextManager[None]]:
    """An ``installed()`` for an extension: patch on first entry, restore on last exit.

    Contexts nest (the in-process ``aws`` fixture inside the session's moto server)."""
    depth = 0

    @contextmanager
    def installed() -> Iterator[None]:
        nonlocal depth
        if depth == 0:
            install()
        depth += 1
        try:
            yield
        finally:
            depth -= 1
            if depth == 0:
                uninstall()

    return installed
