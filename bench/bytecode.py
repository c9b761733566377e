"""Benchmarks time Bakery as a checkout runs it from its second run on: with the bytecode
of its modules cached.

Python caches a module's compiled bytecode in ``__pycache__`` on first import, so a
user's ``pulumi up`` compiles Bakery's modules once. This machine sets
``PYTHONDONTWRITEBYTECODE=1``, and nothing compiles the checkout beforehand, so without
this every Python process (the program, each provider host) would compile every Bakery
module it imports: about 0.07 s of a program's imports, 0.04 s of a provider host's on
2 cores, a cost no user pays twice. The pulumi, pulumi_aws and botocore wheels carry
their own bytecode (pip compiles at install), so they need nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# What a stack's processes import from a checkout (the program, providers, config).
PACKAGES = ("__main__.py", "stack_config", "components", "providers")


def cache_bytecode(source: Path) -> None:
    """Compile ``source``'s Bakery modules into their ``__pycache__`` (git ignores it)
    and let this process and its children write what else they compile."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    present = [name for name in PACKAGES if (source / name).exists()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *present], cwd=source, check=True)
