"""The callables workflows take instead of reaching for the world: log lines and the clock.

Declared once here; every workflow names these types so tests pass a list's ``append``
and a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Log = Callable[[str], None]
"""Where a workflow's progress lines go (the adapter sends them to ``pulumi.log``)."""

Now = Callable[[], datetime]
"""The current time, timezone-aware UTC (``tags.utcnow`` in production)."""
