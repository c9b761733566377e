"""README.md and docs/*.md stay true: config keys, commands, links and the README's length.

1. The ``bakery:`` keys named in the first column of any table in README.md or
   docs/*.md are exactly the keys the code reads (``stack_config.keys.KEYS``). A
   ``--path`` entry (``bakery:bake.tags.team``, ``bakery:fleet.checkpoint_percentages[0]``)
   names the key it lies in; a section (``bakery:bake``) is the object form of its
   keys, not a key. So a key added to the code fails here until a docs row names it,
   on any page.
2. Every command quoted in code exists: repository paths (``scripts/local-up.sh``,
   ``tests/moto_ext/server.py``), ``python -m`` modules of this repository (imported),
   and ``pulumi`` commands (against ``PULUMI_COMMANDS``, the CLI's own list, read from
   ``pulumi --help`` of v3.274.0; flags are not checked).
3. Every relative link resolves, to a file and, with ``#anchor``, to a heading there.
4. README.md is at most 250 lines, and every docs page is linked from some page.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from stack_config import keys
from tests.docs_text import (
    DOCS,
    README,
    ROOT,
    code_texts,
    heading_anchors,
    links,
    pages,
    pulumi_commands,
    table_first_cells,
)

README_MAX_LINES = 250
# `pulumi --help` and `pulumi <group> --help` of v3.274.0 (the pinned CLI), aliases
# included: the top-level commands, and for a group, its subcommands.
PULUMI_COMMANDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        [
            "new",
            "console",
            "import",
            "refresh",
            "install",
            "up",
            "destroy",
            "preview",
            "cancel",
            "env",
            "login",
            "logout",
            "whoami",
            "org",
            "project",
            "deployment",
            "api",
            "insights",
            "do",
            "schema",
            "package",
            "version",
            "about",
            "gen-completion",
            "convert",
            "logs",
            "template",
            "neo",
        ],
        frozenset(),
    ),
    "config": frozenset(
        ["copy", "env", "get", "refresh", "remove", "rm", "remove-all", "set", "set-all"]
    ),
    "stack": frozenset(
        [
            "change-secrets-provider",
            "drift",
            "export",
            "get",
            "graph",
            "history",
            "import",
            "list",
            "ls",
            "migrate",
            "new",
            "init",
            "create",
            "setup",
            "output",
            "policy",
            "remove",
            "rm",
            "rename",
            "schedule",
            "select",
            "tag",
            "unselect",
            "webhook",
        ]
    ),
    "plugin": frozenset(["install", "list", "ls", "remove", "rm", "run"]),
    "policy": frozenset(
        [
            "analyze",
            "compliance",
            "disable",
            "enable",
            "get",
            "group",
            "install",
            "issue",
            "list",
            "ls",
            "new",
            "publish",
            "remove",
            "rm",
            "validate-config",
        ]
    ),
    "state": frozenset(
        [
            "get",
            "move",
            "promote",
            "protect",
            "remove",
            "rename",
            "repair",
            "taint",
            "unprotect",
            "untaint",
            "upgrade",
        ]
    ),
}
GROUPS = frozenset(k for k, subs in PULUMI_COMMANDS.items() if subs)
_PATH = re.compile(
    r"(?<![\w./<-])((?:scripts|bench|tests|providers|components|stack_config|policy|iam|docs"
    r"|preview|\.github|\.ci)/[\w./-]*)"
)
_PYTHON_M = re.compile(r"python3? -m ([A-Za-z_][\w.]*\w)")
_OURS = ("bench", "scripts", "tests", "preview", "policy", "providers", "stack_config")


def _texts() -> dict[Path, str]:
    return {page: page.read_text() for page in pages()}


def config_key(name: str) -> str | None:
    """The key of ``stack_config.keys.KEYS`` a documented name stands for (None: a section)."""
    name = re.sub(r"\[\d*\]", "", name)
    if name in keys.KEYS:
        return name
    if name in keys.SECTIONS:
        return None
    parent = next((k for k in keys.KEYS if name.startswith(f"{k}.")), None)
    return parent or name


def documented_keys(texts: list[str]) -> set[str]:
    """The config keys the first column of the pages' tables names."""
    named = (
        config_key(m.group(1))
        for text in texts
        for cell in table_first_cells(text)
        for m in re.finditer(r"`bakery:([^`\s]+)`", cell)
    )
    return {k for k in named if k is not None}


def key_mismatch(texts: list[str]) -> dict[str, list[str]]:
    """Keys the code reads without a docs row, and rows naming a key the code does not read."""
    documented = documented_keys(texts)
    return {
        "keys without a docs row": sorted(set(keys.KEYS) - documented),
        "docs rows the code does not read": sorted(documented - set(keys.KEYS)),
    }


def test_docs_tables_name_exactly_the_config_keys_the_code_reads() -> None:
    mismatch = key_mismatch(list(_texts().values()))

    assert mismatch == {"keys without a docs row": [], "docs rows the code does not read": []}


def test_docs_key_check_fails_for_a_key_added_to_the_code_without_a_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(keys.KEYS, "bake.brand_new", keys.Key("str", None, "new"))
    texts = list(_texts().values())

    assert key_mismatch(texts)["keys without a docs row"] == ["bake.brand_new"]
    texts.append("| Key | What |\n| --- | --- |\n| `bakery:bake.brand_new` | new |\n")
    assert key_mismatch(texts)["keys without a docs row"] == []
    texts.append("| `bakery:fleet.gone` | a key nobody reads |\n")
    assert key_mismatch(texts)["docs rows the code does not read"] == ["fleet.gone"]


def test_config_key_reads_path_entries_and_sections() -> None:
    assert config_key("bake.tags.team") == "bake.tags"
    assert config_key("fleet.checkpoint_percentages[0]") == "fleet.checkpoint_percentages"
    assert config_key("bake") is None
    assert config_key("bake.nope") == "bake.nope"


def test_docs_quoted_paths_exist() -> None:
    missing = {
        (page.name, path)
        for page, text in _texts().items()
        for code in code_texts(text)
        for path in (p.rstrip(".,") for p in _PATH.findall(code))
        if not (ROOT / path).exists()
    }

    assert not missing


def test_docs_python_m_modules_of_this_repository_import() -> None:
    modules = {
        m
        for text in _texts().values()
        for code in code_texts(text)
        for m in _PYTHON_M.findall(code)
        if m.split(".")[0] in _OURS
    }

    assert {m for m in modules if m.startswith("bench.")}, "no benchmark command found"
    for module in sorted(modules):
        importlib.import_module(module)


def test_docs_pulumi_commands_are_the_clis_own() -> None:
    commands = [c for text in _texts().values() for c in pulumi_commands(code_texts(text), GROUPS)]
    unknown = [
        c.quoted
        for c in commands
        if c.words[0] not in PULUMI_COMMANDS
        or (c.words[0] in GROUPS and c.words[1:] and c.words[1] not in PULUMI_COMMANDS[c.words[0]])
    ]

    assert {"up", "preview", "refresh", "cancel"} <= {c.words[0] for c in commands}
    assert not unknown


def test_docs_relative_links_resolve() -> None:
    texts = _texts()
    broken = []
    for page, text in texts.items():
        for target in links(text):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if (
                not resolved.exists()
                or ROOT not in (resolved, *resolved.parents)
                or (
                    anchor
                    and resolved.suffix == ".md"
                    and anchor not in heading_anchors(resolved.read_text())
                )
            ):
                broken.append((page.name, target))

    assert not broken


def test_readme_is_at_most_250_lines() -> None:
    assert len(README.read_text().splitlines()) <= README_MAX_LINES


def test_every_docs_page_is_linked_from_a_page() -> None:
    linked = {
        (page.parent / target.partition("#")[0]).resolve()
        for page, text in _texts().items()
        for target in links(text)
        if not re.match(r"^[a-z]+:", target) and target.partition("#")[0]
    }

    assert sorted(p.name for p in DOCS.glob("*.md") if p.resolve() not in linked) == []
