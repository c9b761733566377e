"""scripts/install-pulumi.sh: a user's own Pulumi on PATH first, a build only without one.

A fake ``pulumi`` (a shell script printing a version) with the language host files
beside it stands for an official install; ``BAKERY_PULUMI_BUILD_DRY_RUN`` stops the
script just before ``go build``, so "it builds" is shown without building; an empty
``BAKERY_CACHE`` keeps the real cached build out of the way.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.pulumi_cli import REPO

SCRIPT = REPO / "scripts" / "install-pulumi.sh"
HOST_FILES = (
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
)
# Enough for the script: bash, coreutils, sed, sort; no go, no pulumi.
BASE_PATH = "/usr/bin:/bin"


def fake_pulumi(bin_dir: Path, version: str, *, host_files: tuple[str, ...] = HOST_FILES) -> Path:
    """A ``pulumi`` that prints ``version`` for ``pulumi version``, plus host stubs."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in [
        ("pulumi", f'[ "$1" = version ] && echo {version}\n'),
        *[(f, "exit 0\n") for f in host_files],
    ]:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}")
        path.chmod(0o755)
    return bin_dir


def run_install(
    tmp_path: Path, path_dirs: list[Path], **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        "HOME": str(tmp_path),
        "PATH": os.pathsep.join([*map(str, path_dirs), BASE_PATH]),
        "BAKERY_CACHE": str(tmp_path / "cache"),
        "BAKERY_PULUMI_BUILD_DRY_RUN": "1",
        **env,
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60
    )


def test_install_with_newer_official_pulumi_on_path_uses_it_without_building(
    tmp_path: Path,
) -> None:
    user_bin = fake_pulumi(tmp_path / "user" / "bin", "v3.280.0")

    result = run_install(tmp_path, [user_bin])

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(user_bin.resolve())
    assert "pulumi v3.280.0 ready in" in result.stderr
    assert "building" not in result.stderr
    assert not (tmp_path / "cache").exists()


def test_install_without_pulumi_on_path_builds_and_says_why(tmp_path: Path) -> None:
    result = run_install(tmp_path, [], BAKERY_GO="/bin/true")

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "building pulumi v3.274.0 from the Go module proxy: no pulumi on PATH" in lines[0]
    assert "dry run" in lines[1]


def test_install_with_pulumi_older_than_sdk_builds_and_names_its_version(tmp_path: Path) -> None:
    old_bin = fake_pulumi(tmp_path / "old", "v3.200.0")

    result = run_install(tmp_path, [old_bin], BAKERY_GO="/bin/true")

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "is v3.200.0, older than v3.272.0" in result.stderr
    assert "building pulumi v3.274.0" in result.stderr


def test_install_with_pulumi_but_no_python_host_beside_it_builds(tmp_path: Path) -> None:
    bare = fake_pulumi(tmp_path / "bare", "v3.280.0", host_files=HOST_FILES[1:])

    result = run_install(tmp_path, [bare], BAKERY_GO="/bin/true")

    assert "has no pulumi-language-python beside it" in result.stderr
    assert "building pulumi v3.274.0" in result.stderr


def test_install_without_pulumi_and_without_go_exits_3_naming_both(tmp_path: Path) -> None:
    result = run_install(tmp_path, [], BAKERY_GO=str(tmp_path / "no-go"))

    assert result.returncode == 3
    assert result.stdout == ""
    assert "no pulumi CLI: no pulumi on PATH, and no Go to build v3.274.0" in result.stderr
