"""scripts/pr_stacks.py: the stacks a pull request's change touches."""

from __future__ import annotations

import json
import subprocess
import sys

from scripts.pr_stacks import REPO, stacks_of, touched_stacks

STACKS = ["dev", "local", "prod", "staging"]


def test_touched_stacks_a_stack_file_touches_that_stack_only() -> None:
    assert touched_stacks(["Pulumi.staging.yaml", "README.md"], STACKS) == ["staging"]


def test_touched_stacks_program_code_touches_every_stack_but_local() -> None:
    for path in ("providers/aws/images/amis.py", "stack_config/keys.py", "requirements.txt"):
        assert touched_stacks([path], STACKS) == ["dev", "prod", "staging"], path


def test_touched_stacks_docs_tests_and_the_local_stack_touch_none() -> None:
    changed = ["README.md", "tests/test_program.py", "Pulumi.local.yaml", "docs/x.md"]

    assert touched_stacks(changed, STACKS) == []


def test_pr_stacks_reads_git_diff_names_and_prints_json() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "pr_stacks.py")],
        input="Pulumi.dev.yaml\n",
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(done.stdout) == ["dev"]
    assert "dev" in stacks_of() and "local" in stacks_of()
