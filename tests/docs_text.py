"""What README.md and docs/*.md state, read from their Markdown (tests/test_docs.py).

- ``table_first_cells``: the first cell of every table row (outside code blocks).
- ``code_texts``: each inline code span and each line of a fenced code block.
- ``links``: every Markdown link ``[text](target)`` outside code.
- ``pulumi_commands``: each ``pulumi <command> [<subcommand>] --flags...`` quoted in
  code, also as ``scripts/local.sh <command> ...`` (which runs pulumi).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
# A code span may wrap onto the next line, never across a blank line.
_SPAN = re.compile(r"(`+)((?:(?!\n\s*\n).)+?)\1", re.S)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_WORD = re.compile(r"[a-z][a-z0-9-]*$")
# Where one shell command ends and another (or a comment, a redirect) begins.
_SEGMENT_END = re.compile(r"\s(?:\||&&|;|#|>|2>)\s|\s\|$")


def pages() -> list[Path]:
    """README.md and every docs/*.md."""
    return [README, *sorted(DOCS.glob("*.md"))]


def _split(text: str) -> tuple[list[str], list[str]]:
    """(prose lines, fenced code lines) of a Markdown text."""
    prose: list[str] = []
    code: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence[0] * len(fence)):
            if line.strip().strip(fence[0]) == "":
                fence = None
        elif fence is not None:
            code.append(line)
        else:
            prose.append(line)
    return prose, code


def table_first_cells(text: str) -> list[str]:
    """The first cell of each table row (header rows too; separator rows not)."""
    cells: list[str] = []
    for line in _split(text)[0]:
        stripped = line.strip()
        if not stripped.startswith("|") or set(stripped) <= set("|-: "):
            continue
        cells.append(stripped.split("|")[1].strip())
    return cells


def code_texts(text: str) -> list[str]:
    """Every inline code span's text and every line of a fenced code block."""
    prose, code = _split(text)
    spans = [" ".join(m.group(2).split()) for m in _SPAN.finditer("\n".join(prose))]
    return spans + code


def links(text: str) -> list[str]:
    """Every link target outside code (inline code spans removed first)."""
    prose = _SPAN.sub("", "\n".join(_split(text)[0]))
    return [m.group(1) for m in _LINK.finditer(prose)]


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a page (lower case, punctuation dropped)."""
    anchors: set[str] = set()
    for line in _split(text)[0]:
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


@dataclass(frozen=True)
class PulumiCommand:
    """``pulumi <words> <flags>`` as quoted in a page."""

    words: tuple[str, ...]
    flags: tuple[str, ...]
    quoted: str


def _segments(code: str) -> Iterator[str]:
    """Each ``pulumi ...`` (or ``scripts/local.sh ...``) command in one code text."""
    for match in re.finditer(r"(?<![\w./-])(?:pulumi|scripts/local\.sh)\s+(?=\S)", code):
        rest = code[match.end() :]
        end = _SEGMENT_END.search(rest)
        yield rest[: end.start()] if end else rest


def pulumi_commands(texts: Iterable[str], groups: Iterable[str]) -> list[PulumiCommand]:
    """The pulumi commands quoted in ``texts``; a group (``config``) takes a subcommand."""
    group_names = set(groups)
    found: list[PulumiCommand] = []
    for code in texts:
        for segment in _segments(code):
            tokens = segment.split()
            if not tokens or not _WORD.match(tokens[0]):
                continue  # e.g. `scripts/local.sh --stop`, or prose
            words = [tokens[0]]
            if tokens[0] in group_names and len(tokens) > 1 and _WORD.match(tokens[1]):
                words.append(tokens[1])
            flags = [t.split("=")[0] for t in tokens if re.match(r"--[a-z][a-z-]*", t)]
            found.append(PulumiCommand(tuple(words), tuple(flags), segment.strip()))
    return found
