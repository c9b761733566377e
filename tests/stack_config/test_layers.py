"""stack_config and the program keep their layers (no boto3, no components)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.stack_config import ROOT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_stack_config_and_program_keep_their_layers() -> None:
    modules = sorted((ROOT / "stack_config").glob("*.py"))
    config_imports = set().union(*(_imports(path) for path in modules))
    program_imports = _imports(ROOT / "__main__.py")

    assert len(modules) > 1
    outside = {m for m in config_imports if m.split(".")[0] not in ("stack_config", "__future__")}
    stdlib = {m for m in outside if m.split(".")[0] in sys.stdlib_module_names}
    # Config reads through pulumi.Config, checks with validation and the fleet's rules
    # (pure: stdlib + errors) and the bake's consistency modes (bake_plan, pure too),
    # raises errors: no more.
    assert outside - stdlib == {
        "pulumi",
        "providers.aws",
        "providers.aws.bake_plan",
        "providers.aws.errors",
        "providers.aws.fleet_rules",
        "providers.aws.fleet_shape",
    }
    assert not {m for m in program_imports if m.split(".")[0] in ("boto3", "botocore")}
