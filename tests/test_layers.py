"""The layers of STYLE.md, checked on every module's imports (ast, nothing imported).

| layer | may import |
|---|---|
| ``providers/aws`` shared (errors, tags, clients, waits, ...) | stdlib, botocore, each other |
| ``providers/aws/rules`` | stdlib, errors, tags, rules |
| ``providers/aws/<job>`` | the above, its own folder, a job folder its docstring names |
| adapters (``providers/*.py``) | pulumi, workflows, other adapters; no components, no config |
| ``stack_config`` | stdlib, pulumi, rules, errors, tags |
| ``components`` | pulumi, pulumi_aws, adapters, rules, errors, tags; no boto3 |
| ``__main__.py`` | config, components, adapters, errors; no boto3 |
| ``preview`` | stdlib, errors, tags, rules, ``providers/aws/images``; no pulumi, no boto3 |
| ``bench``, ``preview``, ``providers``, ``components``, ``stack_config`` | nothing in ``scripts`` |

``scripts/`` holds the user's commands; product code and benchmarks import none of them
(a command is thin: arguments, reading, printing, over an importable module).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AWS = ROOT / "providers" / "aws"
SHARED = {"errors", "tags", "callbacks", "clients", "concurrent_reads", "waits", "wait_table"}
JOBS = sorted(p.name for p in AWS.iterdir() if (p / "__init__.py").exists() and p.name != "rules")
# A job folder may use another only where its docstring says why.
ALLOWED_JOB_DEPS = {"bake": {"images"}}
PURE = (
    "providers.aws.errors",
    "providers.aws.tags",
    "providers.aws.callbacks",
    "providers.aws.rules",
)
# What preview/ may use of Bakery (preview/__init__.py says why): the pure modules and
# the images job's records and plans; the lineage read that calls AWS is injected.
PREVIEW_MAY_USE = (*PURE, "providers.aws.images", "preview")
NO_SCRIPTS = ("bench", "preview", "providers", "components", "stack_config")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports; ``from a import b`` counts as ``a.b`` when b is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_path = ROOT.joinpath(*candidate.split("."))
                is_module: bool = (
                    as_path.with_suffix(".py").exists() or (as_path / "__init__.py").exists()
                )
                found.add(candidate if is_module else node.module)
    return found


def _ours(modules: set[str]) -> set[str]:
    tops = ("providers", "components", "stack_config", "scripts", "bench", "tests", "preview")
    return {m for m in modules if m.split(".")[0] in tops}


def _third_party(modules: set[str]) -> set[str]:
    outside = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names}
    return outside - _ours(modules) - {"__future__"}


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _is_pure(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in PURE)


def test_nothing_under_providers_aws_imports_pulumi() -> None:
    for path in _files(AWS):
        pulumi = {m for m in imports_of(path) if m.split(".")[0] in ("pulumi", "pulumi_aws")}
        assert not pulumi, f"{path.relative_to(ROOT)} imports {pulumi}"


def test_shared_modules_import_no_job_folder() -> None:
    for name in SHARED:
        ours = _ours(imports_of(AWS / f"{name}.py"))
        assert ours <= {f"providers.aws.{n}" for n in SHARED}, (name, ours)


def test_rules_are_pure() -> None:
    for path in _files(AWS / "rules"):
        mods = imports_of(path)
        assert all(_is_pure(m) for m in _ours(mods)), (path.name, _ours(mods))
        # known_regions reads botocore's bundled endpoint data; no client, no call.
        assert _third_party(mods) <= {"botocore.session"}, (path.name, _third_party(mods))


@pytest.mark.parametrize("job", JOBS)
def test_job_folders_depend_only_on_core_rules_and_what_they_document(job: str) -> None:
    allowed = ALLOWED_JOB_DEPS.get(job, set())
    docstring = ast.get_docstring(ast.parse((AWS / job / "__init__.py").read_text())) or ""
    for other in allowed:
        assert f"``{other}/``" in docstring, f"{job}/__init__.py must say why it uses {other}/"
    for path in _files(AWS / job):
        for module in _ours(imports_of(path)):
            parts = module.split(".")
            assert parts[:2] == ["providers", "aws"], (path.name, module)
            folder = parts[2] if len(parts) > 2 else ""
            assert folder in SHARED | {"rules", job} | allowed, (
                f"{path.relative_to(ROOT)} imports {module}"
            )


def test_adapters_import_no_component_and_no_config() -> None:
    for path in sorted((ROOT / "providers").glob("*.py")):
        ours = _ours(imports_of(path))
        assert not {m for m in ours if m.split(".")[0] in ("components", "stack_config")}, path


def test_config_imports_only_rules_errors_and_tags() -> None:
    paths = _files(ROOT / "stack_config")
    assert len(paths) > 1
    for path in paths:
        mods = imports_of(path)
        outside = {m for m in _ours(mods) if not m.startswith("stack_config")}
        assert all(_is_pure(m) for m in outside), (path.name, outside)
        assert _third_party(mods) <= {"pulumi"}, (path.name, _third_party(mods))


def test_components_import_adapters_and_rules_not_workflows() -> None:
    for path in _files(ROOT / "components"):
        mods = imports_of(path)
        for module in _ours(mods):
            top = module.split(".")
            if top[0] == "components":
                continue
            assert top[0] == "providers", (path.name, module)
            assert top[1] != "aws" or _is_pure(module), f"{path.name} imports workflow {module}"
        assert not {m for m in mods if m.split(".")[0] in ("boto3", "botocore")}, path.name


def test_program_imports_no_boto3_and_no_workflow() -> None:
    mods = imports_of(ROOT / "__main__.py")
    assert not {m for m in mods if m.split(".")[0] in ("boto3", "botocore")}
    assert all(_is_pure(m) for m in _ours(mods) if m.startswith("providers.aws")), mods


@pytest.mark.parametrize("folder", NO_SCRIPTS)
def test_product_code_and_benchmarks_import_nothing_from_scripts(folder: str) -> None:
    paths = _files(ROOT / folder)
    assert paths, folder
    for path in paths:
        scripts = {m for m in imports_of(path) if m.split(".")[0] == "scripts"}
        assert not scripts, f"{path.relative_to(ROOT)} imports {scripts}"


def test_preview_imports_no_pulumi_no_boto3_and_only_the_modules_it_needs() -> None:
    paths = _files(ROOT / "preview")
    assert {p.name for p in paths} >= {"__init__.py", "report.py", "markdown.py"}
    for path in paths:
        mods = imports_of(path)
        assert not _third_party(mods), (path.name, _third_party(mods))
        for module in _ours(mods):
            allowed = any(module == p or module.startswith(p + ".") for p in PREVIEW_MAY_USE)
            assert allowed, f"preview/{path.name} imports {module}"


@pytest.mark.parametrize("folder", ["preview", "providers", "components", "stack_config"])
def test_product_code_imports_nothing_from_tests(folder: str) -> None:
    # tests/harness (the moto engine, the recording mocks) is for tests (and bench) only.
    for path in _files(ROOT / folder):
        found = {m for m in imports_of(path) if m.split(".")[0] == "tests"}
        assert not found, f"{path.relative_to(ROOT)} imports {found}"


def test_harness_is_tested_and_components_conftest_holds_fixtures_only() -> None:
    harness = {p.stem for p in (ROOT / "tests" / "harness").glob("*.py")} - {"__init__"}
    modules = {h for h in harness if not h.startswith("test_")}
    assert {"moto_engine", "recording_mocks"} <= modules
    assert {"test_moto_engine", "test_recording_mocks"} <= harness
    tree = ast.parse((ROOT / "tests" / "components" / "conftest.py").read_text())
    assert not [n.name for n in tree.body if isinstance(n, ast.ClassDef)]


def test_program_and_provider_imports_load_no_aws_client_machinery() -> None:
    """What `pulumi preview` starts (the program, a provider host per resource) imports
    neither boto3 nor botocore's client machinery until a client is built: each host
    would pay ~125 ms of import for nothing (bench/engine_overhead.py, by part)."""
    import subprocess

    heavy = ("boto3", "s3transfer", "botocore.client", "botocore.parsers", "botocore.session")
    script = (
        "import sys, pulumi.dynamic\n"
        "import stack_config, components.image_fleet, components.promoted_image\n"
        "import providers.baked_image, providers.cutover, providers.rollout\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == ""
