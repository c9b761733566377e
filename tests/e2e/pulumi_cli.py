"""Run the real Pulumi CLI on Bakery against a local moto server, for tests and benches.

- ``find_pulumi()``: the CLI of ``scripts/install-pulumi.sh`` (PATH first, then its cache).
- ``MotoServer`` (tests/e2e/moto_server.py): ``python -m tests.moto_ext.server`` on
  127.0.0.1 at a free port.
- ``Workspace``: a throwaway file backend, ``PULUMI_HOME`` and project directory in a
  temp dir, and the environment every ``pulumi`` command runs with (empty passphrase,
  no update check, no plugin downloads, fake AWS credentials).
- ``Stack``: one stack of that project, with ``preview``/``up``/``refresh``/... helpers,
  driven through the Automation API (``pulumi.automation``) on the same CLI; flags it
  has no argument for (``--json``, ``--event-log``, ``--show-sames``), ``stack export
  --show-secrets`` and a ``pulumi up`` that a test kills (``Workspace.popen``) use the
  CLI directly: the Automation API returns engine events and text rather than the
  ``--json`` document, and gives no handle on the process it runs.

The project directory is a directory of symlinks to the program at the repo root, so
that ``pulumi stack init`` and ``pulumi config set`` write ``Pulumi.<stack>.yaml`` into
the temp dir, never into the working tree. Only ``Pulumi.yaml`` may be a copy: when
its ``virtualenv`` is not the one running the tests (CI runs them from ``.venv``), the
copy names the tests' virtualenv, so the program runs the code and SDK under test.
The dynamic provider host runs in that directory too, which is how ``leftover_hosts``
finds a host that outlived a killed ``pulumi``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from tests.e2e.automation_flags import automation_kwargs
from tests.e2e.moto_server import MotoServer

# MotoServer lives in moto_server.py; importers of this module keep finding it here.
__all__ = ["REPO", "MotoServer", "Result", "Stack", "Workspace", "find_pulumi"]

REPO = Path(__file__).resolve().parents[2]
# The bake-only stack of the real program (its config is copied, then overridden).
PROGRAM_STACK = "local"
BAKED_IMAGE_TYPE = "pulumi-python:dynamic/bakery:BakedImage"
# The program's BakedImage resource name (__main__.py).
BAKED_IMAGE_NAME = "image"
# Files of the program that must not be shared with the temp project: stack configs.
_STACK_FILE = re.compile(r"^Pulumi\.[^.]+\.ya?ml$")
_SKIP = {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
_COMMAND_TIMEOUT_S = 300.0


def find_pulumi() -> Path | None:
    """The bin directory holding ``pulumi`` and our Python language host, or None.

    PATH first (``scripts/test.sh`` puts the install script's directory there), then
    the install script's cache, so a local ``pytest`` finds a CLI built earlier.
    """
    on_path = shutil.which("pulumi")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    script = REPO / "scripts" / "install-pulumi.sh"
    version = re.search(r'^PULUMI_VERSION="([^"]+)"', script.read_text(), re.M)
    if version:
        cache = Path(os.environ.get("BAKERY_CACHE") or Path.home() / ".cache" / "bakery")
        candidates.append(cache / f"pulumi-v{version.group(1)}" / "bin")
    for bin_dir in candidates:
        if (bin_dir / "pulumi").is_file() and (bin_dir / "pulumi-language-python").is_file():
            return bin_dir
    return None


@dataclass
class Result:
    """One finished ``pulumi`` command."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def check(self) -> Result:
        if self.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(self.args)} exited {self.returncode} after "
                f"{self.seconds:.1f}s\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
            )
        return self


class Workspace:
    """A file backend, PULUMI_HOME and a project directory of symlinks, all in ``root``."""

    def __init__(
        self,
        root: Path,
        bin_dir: Path,
        *,
        source: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.source = source or REPO
        self.project = root / "project"
        self.state = root / "state"
        self.home = root / "home"
        for path in (self.project, self.state, self.home):
            path.mkdir(parents=True, exist_ok=True)
        for entry in self.source.iterdir():
            if entry.name in _SKIP or _STACK_FILE.match(entry.name):
                continue
            if entry.name in ("Pulumi.yaml", "Pulumi.yml"):
                _link_project_file(entry, self.project / entry.name)
            else:
                (self.project / entry.name).symlink_to(entry)
        self.env = self._environment(extra_env or {})
        self._automation: auto.LocalWorkspace | None = None

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PULUMI_", "AWS_PROFILE", "PYTEST_"))
        }
        env.update(
            {
                "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}",
                "PULUMI_HOME": str(self.home),
                "PULUMI_BACKEND_URL": f"file://{self.state}",
                "PULUMI_CONFIG_PASSPHRASE": "",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                # Enables --event-log on up/preview/refresh/destroy.
                "PULUMI_DEBUG_COMMANDS": "true",
                # The python running the tests has the SDK, boto3 and the repo's code.
                "PULUMI_PYTHON_CMD": sys.executable,
                "PYTHONPATH": str(REPO),
                "AWS_EC2_METADATA_DISABLED": "true",
                "NO_COLOR": "1",
            }
        )
        env.update(extra)
        return env

    def popen(self, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        """Start ``pulumi args`` in the project directory (its own process group)."""
        out = log.open("w") if log else subprocess.PIPE
        return subprocess.Popen(
            [str(self.bin_dir / "pulumi"), *args, "--non-interactive", "--color", "never"],
            cwd=self.project,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def pulumi(self, *args: str, timeout: float = _COMMAND_TIMEOUT_S) -> Result:
        """Run ``pulumi args`` to the end (killing its process group on timeout)."""
        started = time.monotonic()
        process = self.popen(*args)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n[e2e: killed after {timeout}s]"
        result = Result(list(args), process.returncode, stdout, stderr, time.monotonic() - started)
        self.note_timing(result)
        return result

    def note_timing(self, result: Result) -> None:
        """Append the command's wall time to ``$BAKERY_E2E_TIMINGS``, if set."""
        if os.environ.get("BAKERY_E2E_TIMINGS"):
            with open(os.environ["BAKERY_E2E_TIMINGS"], "a") as log:
                command = " ".join(result.args)
                log.write(f"{result.seconds:6.2f}s rc={result.returncode} pulumi {command}\n")

    @property
    def automation(self) -> auto.LocalWorkspace:
        """The Automation API's workspace for the project: same CLI, home and environment."""
        if self._automation is None:
            self._automation = auto.LocalWorkspace(
                work_dir=str(self.project),
                pulumi_home=str(self.home),
                env_vars=self.env,
                pulumi_command=auto.PulumiCommand(root=str(self.bin_dir.parent)),
            )
        return self._automation

    def leftover_hosts(self) -> list[int]:
        """Pids of processes still running in the project directory (provider hosts)."""
        found = []
        project = str(self.project)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if cwd == project or cwd.startswith(project + os.sep):
                found.append(int(proc.name))
        return found

    def kill_leftovers(self) -> None:
        """SIGKILL every process still running in the project directory (by pid)."""
        for pid in self.leftover_hosts():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# ``runtime.options.virtualenv`` in Pulumi.yaml (the one key read here; no YAML parser).
_VIRTUALENV = re.compile(r"^(\s+virtualenv:\s*)(\S+?)\s*$", re.M)


def _link_project_file(source: Path, target: Path) -> None:
    """Link Pulumi.yaml if its virtualenv is the one running the tests, else copy it
    naming that virtualenv (the program must import the code and SDK under test)."""
    text = source.read_text()
    match = _VIRTUALENV.search(text)
    here = Path(sys.prefix).resolve()
    if match is None:
        target.symlink_to(source)
        return
    venv = match.group(2).strip("'\"")
    if (source.parent / venv).resolve() == here:
        if not Path(venv).is_absolute():
            (target.parent / venv).symlink_to(source.parent / venv)
        target.symlink_to(source)
        return
    if sys.prefix == sys.base_prefix:
        raise RuntimeError(f"{source} wants virtualenv {venv}; run the tests from a virtualenv")
    target.write_text(text[: match.start(2)] + str(here) + text[match.end(2) :])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


_RETURN_CODE = re.compile(r"^ code: (-?\d+)$", re.M)


class Stack:
    """One stack of a workspace's project, driven through the Automation API.

    ``preview``/``up``/``refresh``/``destroy`` take CLI flags, so tests read like the
    commands a user types; they go through ``pulumi.automation`` (which runs the same
    CLI, ``--stack`` and ``--non-interactive`` added) when it has an argument for each
    flag, else through the CLI directly (``run``). Either way the result is a
    ``Result`` with the command's stdout, stderr and exit code, failed or not.
    ``up()`` without ``--skip-preview`` previews first, as ``pulumi up --yes`` does.
    """

    def __init__(self, workspace: Workspace, name: str = PROGRAM_STACK) -> None:
        self.ws = workspace
        self.name = name
        self._auto: auto.Stack | None = None

    @property
    def auto(self) -> auto.Stack:
        if self._auto is None:
            self._auto = auto.Stack.select(self.name, self.ws.automation)
        return self._auto

    def init(self, config: Mapping[str, str] | None = None) -> Stack:
        """``pulumi stack init`` (after copying the program's committed stack config)."""
        committed = self.ws.source / f"Pulumi.{self.name}.yaml"
        if committed.is_file():
            shutil.copyfile(committed, self.ws.project / committed.name)
        self._auto = auto.Stack.create(self.name, self.ws.automation)
        if config:
            self.auto.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
        return self

    def run(self, *args: str, timeout: float = _COMMAND_TIMEOUT_S) -> Result:
        """``pulumi args --stack <name>`` through the CLI directly."""
        return self.ws.pulumi(*args, "--stack", self.name, timeout=timeout)

    def config_set(self, key: str, value: Any, *, path: bool = False) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.auto.set_config(key, auto.ConfigValue(text), path=path)

    def _operation(self, op: str, args: Sequence[str], cli: Sequence[str]) -> Result:
        kwargs = automation_kwargs(op, args)
        if kwargs is None:
            return self.run(*cli, *args)
        out: list[str] = []
        err: list[str] = []
        started = time.monotonic()
        # The Automation API has no timeout: past it, kill what runs in the project.
        watchdog = threading.Timer(_COMMAND_TIMEOUT_S, self.ws.kill_leftovers)
        watchdog.start()
        try:
            getattr(self.auto, op)(
                on_output=out.append, on_error=err.append, color="never", **kwargs
            )
            code = 0
        except auto.errors.CommandError as exc:
            found = _RETURN_CODE.search(str(exc))
            code = int(found.group(1)) if found else 1
        finally:
            watchdog.cancel()
        stdout, stderr = "\n".join(out) + "\n", "\n".join(err) + "\n"
        result = Result([op, *args], code, stdout, stderr, time.monotonic() - started)
        self.ws.note_timing(result)
        return result

    def preview(self, *args: str) -> Result:
        return self._operation("preview", args, ["preview"])

    def up(self, *args: str) -> Result:
        return self._operation("up", args, ["up", "--yes"])

    def refresh(self, *args: str) -> Result:
        return self._operation("refresh", args, ["refresh", "--yes"])

    def destroy(self, *args: str) -> Result:
        return self._operation("destroy", args, ["destroy", "--yes"])

    def cancel(self) -> None:
        self.auto.cancel()

    def outputs(self) -> dict[str, Any]:
        return {key: output.value for key, output in self.auto.outputs().items()}

    def export(self, *, show_secrets: bool = False) -> dict[str, Any]:
        """The stack's state (``stack export``; the Automation API cannot show secrets)."""
        if show_secrets:
            state: dict[str, Any] = json.loads(
                self.run("stack", "export", "--show-secrets").check().stdout
            )
            return state
        exported = self.auto.export_stack()
        return {"version": exported.version, "deployment": exported.deployment}

    def resources(self, type_: str = BAKED_IMAGE_TYPE) -> list[dict[str, Any]]:
        deployment = self.export()["deployment"]
        return [r for r in deployment.get("resources") or [] if r["type"] == type_]


def read_events(path: Path) -> list[dict[str, Any]]:
    """The engine's event log (``--event-log``): one JSON object a line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def resource_events(events: Sequence[dict[str, Any]]) -> Iterator[tuple[int, str, str, str]]:
    """(sequence, kind, op, urn) of every resourcePre/resOutputs event, in order."""
    for event in events:
        for kind in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            if kind in event:
                meta = event[kind].get("metadata", {})
                yield event["sequence"], kind, meta.get("op", ""), meta.get("urn", "")
