"""tests/ mirrors src/ file for file: the tests of `src/chainrule/<dir>/<module>.py` live in
`tests/<dir>/test_<module>.py`, and a topic of their own in `tests/<dir>/test_<module>_<topic>.py`.

A package's `__init__.py` that defines something is tested as the package (`compiler/__init__.py` in
`tests/compiler/test_compiler.py`, `chainrule/__init__.py` in `tests/test_chainrule.py`); one that only
re-exports needs no file. Underscores around a name are dropped (`_blas.py` in `test_blas.py`, `__main__.py`
in `test_main.py`). Checks of the project as a whole (README, docs, wheel, layers, lint, complexity, fuzzing,
benchmarks) live in tests/project.
"""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "chainrule"
TESTS = ROOT / "tests"
PROJECT = TESTS / "project"


def defines_something(path: Path) -> bool:
    """Whether a module has a def or class of its own (an `__init__` that only re-exports has none)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in tree.body)


def stem_of(module: Path) -> str:
    """The name a module's tests are filed under: the module's, the package's for an `__init__`."""
    name = module.parent.name if module.name == "__init__.py" else module.stem
    return name.strip("_")


def source_modules() -> dict[Path, str]:
    """{folder relative to src/chainrule: ...} as {module path: stem} for every module that needs tests."""
    return {path: stem_of(path) for path in sorted(SRC.rglob("*.py"))
            if path.name != "__init__.py" or defines_something(path)}


def mirrored_test_files() -> list[Path]:
    """Every test file outside tests/project."""
    return [path for path in sorted(TESTS.rglob("test_*.py")) if PROJECT not in path.parents]


def covers(test_file: Path, stem: str) -> bool:
    """test_<stem>.py or test_<stem>_<topic>.py."""
    name = test_file.stem.removeprefix("test_")
    return name == stem or name.startswith(stem + "_")


def test_every_module_has_its_test_file() -> None:
    missing = []
    for module, stem in source_modules().items():
        folder = TESTS / module.parent.relative_to(SRC)
        if not any(covers(t, stem) for t in folder.glob("test_*.py")):
            missing.append(f"{module.relative_to(ROOT)}: no {folder.relative_to(ROOT)}/test_{stem}[_topic].py")
    assert not missing, "modules without their test file:\n" + "\n".join(missing)


def test_every_test_file_names_a_module_beside_it_in_src() -> None:
    stems_by_folder: dict[Path, set[str]] = {}
    for module, stem in source_modules().items():
        stems_by_folder.setdefault(module.parent.relative_to(SRC), set()).add(stem)
    strays = []
    for test_file in mirrored_test_files():
        folder = test_file.parent.relative_to(TESTS)
        stems = stems_by_folder.get(folder, set())
        if not any(covers(test_file, stem) for stem in stems):
            where = "src/chainrule" if folder == Path() else f"src/chainrule/{folder}"
            strays.append(f"{test_file.relative_to(ROOT)}: no module {where}/<name>.py that it is "
                          f"named after (known there: {', '.join(sorted(stems)) or 'none'})")
    assert not strays, "test files that mirror no module:\n" + "\n".join(strays)


def test_test_file_names_are_unique() -> None:
    """pytest's default import mode imports each test file by its name alone, so no two may share one."""
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert not [name for name, count in names.items() if count > 1]


def test_the_checks_see_the_tree() -> None:
    """The rule is only worth something if it looks at the real files: the engine and its tests are found."""
    modules = source_modules()
    assert SRC / "autodiff" / "backward.py" in modules and SRC / "compiler" / "__init__.py" in modules
    assert SRC / "nn" / "__init__.py" not in modules               # it only re-exports
    assert covers(TESTS / "autodiff" / "test_backward.py", "backward")
    assert not covers(TESTS / "autodiff" / "test_backwardness.py", "backward")
    assert len(mirrored_test_files()) > 50
