"""scripts/test.sh: ruff, mypy and the unit tests run first; only e2e needs the CLI.

Each test runs the real script with PATH cut down to /usr/bin:/bin (no Go, no pulumi),
``BAKERY_GO`` pointing nowhere, an empty ``BAKERY_CACHE``, the running virtualenv as
it is (``BAKERY_NO_PIP``), ruff and mypy on one small file (``BAKERY_CHECK_PATHS``)
and a one-test pytest selection, so it takes seconds and never runs this file again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.pulumi_cli import REPO
from tests.scripts.test_install_pulumi import BASE_PATH, fake_pulumi

SCRIPT = REPO / "scripts" / "test.sh"
# A fast unit test the script runs (not in this file: no recursion).
ONE_UNIT_TEST = (
    "tests/scripts/test_install_pulumi.py::"
    "test_install_without_pulumi_and_without_go_exits_3_naming_both"
)


def run_test_sh(
    tmp_path: Path, *, ci: str, path_dirs: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(tmp_path),
        "PATH": ":".join([*map(str, path_dirs), BASE_PATH]),
        "CI": ci,
        "BAKERY_GO": str(tmp_path / "no-go"),
        "BAKERY_CACHE": str(tmp_path / "cache"),
        "BAKERY_VENV": sys.prefix,
        "BAKERY_NO_PIP": "1",
        "BAKERY_CHECK_PATHS": "scripts/__init__.py",
        "MYPY_CACHE_DIR": str(tmp_path / "mypy-cache"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), "-q", "-p", "no:cacheprovider", ONE_UNIT_TEST],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_test_sh_without_go_or_pulumi_runs_checks_and_unit_tests_then_skips_e2e(
    tmp_path: Path,
) -> None:
    result = run_test_sh(tmp_path, ci="")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("== ruff", "== mypy", "== pytest (unit)", "1 passed"):
        assert step in out, out
    assert out.index("== mypy") < out.index("== pytest (unit)") < out.index("1 passed")
    assert out.rstrip().splitlines()[-1].startswith("e2e skipped: no pulumi CLI (")


def test_test_sh_in_ci_without_a_cli_fails_after_the_unit_tests(tmp_path: Path) -> None:
    result = run_test_sh(tmp_path, ci="true")

    assert result.returncode == 1
    assert "1 passed" in result.stdout
    assert "e2e failed: no pulumi CLI" in result.stderr
    assert "e2e skipped" not in result.stdout


def test_test_sh_with_a_cli_and_no_e2e_test_selected_counts_as_success(tmp_path: Path) -> None:
    user_bin = fake_pulumi(tmp_path / "user-bin", "v3.280.0")

    result = run_test_sh(tmp_path, ci="true", path_dirs=(user_bin,))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "== pytest (e2e, the real Pulumi CLI)" in result.stdout
    assert "(no test selected)" in result.stdout
