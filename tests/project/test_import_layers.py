"""The package's layers are enforced: the import-linter contracts of pyproject.toml hold, and no module inside
src/chainrule imports the package's top level (which would tie every layer to `chainrule/__init__`'s order)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "chainrule"


def top_level_imports(source: str) -> list[int]:
    """Line numbers of `import chainrule`, `import chainrule as ...` and `from chainrule import ...`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(alias.name == "chainrule" for alias in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "chainrule":
            lines.append(node.lineno)
    return lines


def test_the_check_finds_top_level_imports_in_every_spelling() -> None:
    source = "import chainrule as cr\nfrom chainrule import nn\nimport chainrule\nfrom chainrule.nn import MLP\n"
    assert top_level_imports(source) == [1, 2, 3]


def test_no_module_inside_the_package_imports_the_package_top_level() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sorted(PACKAGE.rglob("*.py"))
                 for line in top_level_imports(path.read_text(encoding="utf-8"))]
    assert not offenders, "import from the defining submodule, relatively, instead: " + ", ".join(offenders)


def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if lint_imports is None:
        pytest.skip("import-linter is not installed (it comes with the dev extra)")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
