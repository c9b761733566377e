"""Which stacks a pull request's change touches, for .github/workflows/preview.yml.

    git diff --name-only BASE HEAD | python scripts/pr_stacks.py   # -> ["dev","staging"]

A changed ``Pulumi.<stack>.yaml`` touches that stack; a change to what every stack
runs (the program, its providers, components, stack config code, Pulumi.yaml, the
pinned requirements) touches them all. ``local`` is never previewed in CI: it bakes
against a moto server on the developer's machine, not AWS. Docs and tests touch none.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Paths every stack's preview depends on (a prefix match).
SHARED = (
    "__main__.py",
    "Pulumi.yaml",
    "requirements.txt",
    "providers/",
    "components/",
    "stack_config/",
    "stack_config.py",
)
NOT_IN_CI = frozenset({"local"})
_STACK_FILE = re.compile(r"^Pulumi\.([^./]+)\.ya?ml$")


def stacks_of(root: Path = REPO) -> list[str]:
    """The stacks with a committed stack file, sorted."""
    found = (_STACK_FILE.match(p.name) for p in root.iterdir())
    return sorted(m.group(1) for m in found if m)


def touched_stacks(changed: Iterable[str], stacks: Iterable[str]) -> list[str]:
    """The stacks (of ``stacks``) whose preview the changed paths can alter, sorted."""
    known = set(stacks) - NOT_IN_CI
    paths = [p.strip() for p in changed if p.strip()]
    if any(p.startswith(SHARED) for p in paths):
        return sorted(known)
    named = (_STACK_FILE.match(p) for p in paths)
    return sorted({m.group(1) for m in named if m} & known)


if __name__ == "__main__":
    print(json.dumps(touched_stacks(sys.stdin, stacks_of())))
