""".github/workflows/preview.yml: a pull-request job, read-only AWS, one comment per stack.

GitHub Actions does not run here; these check what the workflow promises in the
docs/pr-preview.md (what it runs, with which permissions, and how it finds its own comment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from preview.markdown import COMMENT_MARKER

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "preview.yml"


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_preview_workflow_runs_on_pull_requests_with_least_permissions() -> None:
    workflow = _workflow()

    assert "pull_request" in workflow[True]  # YAML reads the key `on` as True
    assert workflow["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }


def test_preview_workflow_previews_each_touched_stack_with_the_read_only_role() -> None:
    jobs = _workflow()["jobs"]

    assert "scripts/pr_stacks.py" in _runs(jobs["stacks"])
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    role = next(s for s in preview["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert role["with"]["role-to-assume"] == "${{ vars.BAKERY_PREVIEW_ROLE_ARN }}"
    assert 'scripts/pr_preview.py --stack "${{ matrix.stack }}"' in _runs(preview)
    assert "--policy-pack policy" in _runs(preview)


def test_preview_workflow_updates_the_comment_that_starts_with_the_stack_marker() -> None:
    steps = _workflow()["jobs"]["preview"]["steps"]
    script = next(s for s in steps if "github-script" in s.get("uses", ""))["with"]["script"]

    assert "body.split('\\n', 1)[0]" in script
    assert "c.body.startsWith(marker)" in script
    assert "updateComment" in script and "createComment" in script
    assert COMMENT_MARKER.startswith("<!-- ")
