"""The documentation runs: every code block of docs/*.md (except architecture.md) is executed, in order.

A ```python block runs in one namespace per file; when the next block is ```text it is the output the python
block must print (compared line by line, trailing spaces ignored). A ```console block's `$ chainrule ...`
lines run through the command-line entry point and must succeed.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from chainrule.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "architecture.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, code, line number) for every fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_the_tutorial_exists_and_has_code_blocks():
    assert ROOT / "docs" / "tutorial.md" in DOCS
    kinds = [kind for kind, _, _ in blocks(ROOT / "docs" / "tutorial.md")]
    assert kinds.count("python") >= 8 and "text" in kinds and "console" in kinds


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_every_code_block_runs_and_prints_what_the_page_shows(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    namespace: dict = {"__name__": "__docs__"}
    found = blocks(path)
    for i, (kind, code, line) in enumerate(found):
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{path.name}:{line}", "exec"), namespace)
            following = found[i + 1] if i + 1 < len(found) else None
            if following and following[0] == "text":
                assert _lines(out.getvalue()) == _lines(following[1]), f"{path.name}:{line}: output differs"
        elif kind == "console":
            for command in (c[2:] for c in code.splitlines() if c.startswith("$ ")):
                words = shlex.split(command)
                assert words[0] == "chainrule", f"{path.name}:{line}: only chainrule commands run here"
                with contextlib.redirect_stdout(io.StringIO()):
                    assert main(words[1:]) == 0, f"{path.name}:{line}: `{command}` failed"
        elif kind not in ("text", ""):
            pytest.fail(f"{path.name}:{line}: a ```{kind} block that the tests cannot run")
