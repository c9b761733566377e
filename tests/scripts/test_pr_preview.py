"""scripts/pr_preview.py, the command: stdin or its own ``pulumi preview``, exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from preview.markdown import COMMENT_MARKER
from scripts import pr_preview
from tests.preview import FIXTURES
from tests.preview import document as _document


def test_pr_preview_main_reads_stdin_and_fails_on_error_diagnostics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _document("no-change")
    document["diagnostics"] = [{"message": "invalid stack config", "severity": "error"}]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(document)))

    assert pr_preview.main(["--no-aws"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(COMMENT_MARKER)
    assert "error: invalid stack config" in out


def test_pr_preview_with_stack_runs_pulumi_preview_json_with_sames_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fake `pulumi` that notes its arguments and prints a captured document.
    fake = tmp_path / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat {FIXTURES / "first-bake.json"}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")

    assert (
        pr_preview.main(["--stack", "dev", "--cwd", str(tmp_path), "--no-aws", "--", "-v", "3"])
        == 0
    )

    args = (tmp_path / "args").read_text().split()
    assert args[:3] == ["preview", "--json", "--show-sames"]
    assert args[-2:] == ["-v", "3"] and "--stack" in args and "dev" in args
    assert "#### Bake `image` (BakedImage, first bake)" in capsys.readouterr().out
