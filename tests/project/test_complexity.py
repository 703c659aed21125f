"""Readable measures: no function in src/ is more complex than MAX_COMPLEXITY (radon's cyclomatic complexity)
unless its docstring says why, in a paragraph starting with the marker "Complexity:"."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_COMPLEXITY = 15
MARKER = "Complexity:"

radon_complexity = pytest.importorskip("radon.complexity", reason="radon comes with the dev extra")


def docstrings_by_line(source: str) -> dict[int, str]:
    """The docstring of every function and method, keyed by the line its `def` is on."""
    return {node.lineno: ast.get_docstring(node) or "" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def too_complex(source: str, where: str = "") -> list[str]:
    """'where:line name (complexity)' for each function above MAX_COMPLEXITY whose docstring lacks MARKER."""
    docstrings = docstrings_by_line(source)
    found = []
    for block in radon_complexity.cc_visit(source):  # functions and methods (and classes, which are skipped)
        if hasattr(block, "methods"):
            continue
        if block.complexity > MAX_COMPLEXITY and MARKER not in docstrings.get(block.lineno, MARKER):
            found.append(f"{where}:{block.lineno} {block.name} ({block.complexity})")
    return found


def test_a_branchy_function_is_flagged_unless_its_docstring_explains_it() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(MAX_COMPLEXITY))
    plain = f"def f(x):\n    '''Pick.'''\n{branches}    return -1\n"
    explained = plain.replace("'''Pick.'''", "'''Pick.\n\n    Complexity: one case per value.'''")
    assert too_complex(plain) == [":1 f (16)"]
    assert too_complex(explained) == []
    assert too_complex("def g(x):\n    return x\n") == []
    in_a_class = "class C:\n" + "".join("    " + line + "\n" for line in plain.splitlines())
    assert too_complex(in_a_class) == [":2 f (16)"]


def test_no_function_in_src_is_above_the_complexity_limit_without_a_reason() -> None:
    offenders = [name for path in sorted((ROOT / "src").rglob("*.py"))
                 for name in too_complex(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not offenders, f"above cyclomatic complexity {MAX_COMPLEXITY} (split them, or say why after "\
                          f"'{MARKER}' in the docstring): " + "; ".join(offenders)
