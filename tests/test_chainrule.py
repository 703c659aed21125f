"""The package `chainrule`: the engine's names at the top, every subpackage an attribute after `import chainrule`
(the heavy ones imported on first use), `chainrule.compile` the function, an unknown name a plain
AttributeError, and the package importable whichever of its modules is imported first."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule

ROOT = Path(__file__).resolve().parents[1]


def test_subpackages_are_attributes_after_import_chainrule():
    for name in ("nn", "optim", "data", "train", "explain", "viz", "io"):
        assert getattr(chainrule, name).__name__ == f"chainrule.{name}"


@pytest.mark.parametrize("first", ["chainrule.io", "chainrule.nn", "chainrule.optim", "chainrule.autodiff.rules",
                                   "chainrule.viz.graph", "chainrule.train"])
def test_the_package_imports_whichever_module_comes_first(first):
    code = f"import {first}; import chainrule; chainrule.optim.SGD; chainrule.tensor([1.0]).graph()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_name_in_all_is_there_and_the_engine_is_re_exported() -> None:
    from chainrule import autodiff

    missing = [name for name in chainrule.__all__ if not hasattr(chainrule, name)]
    assert not missing
    for name in autodiff.__all__:
        assert getattr(chainrule, name) is getattr(autodiff, name), name


def test_compile_is_the_function_and_compiler_the_subpackage() -> None:
    from chainrule.compiler import compile as compile_function

    assert chainrule.compile is compile_function and callable(chainrule.compile)
    assert chainrule.compiler.__name__ == "chainrule.compiler"


def test_an_unknown_attribute_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'chainrule' has no attribute 'tensorflow'"):
        chainrule.tensorflow  # noqa: B018
    assert not hasattr(chainrule, "nonexistent")


def test_the_version_is_the_one_the_package_is_built_with() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is Python 3.11+
    declared = re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)
    assert declared is not None and chainrule.__version__ == declared.group(1)


def test_importing_chainrule_leaves_the_heavy_subpackages_for_later() -> None:
    code = ("import sys, chainrule; heavy = ('chainrule.web', 'chainrule.cli', 'chainrule.explain', "
            "'chainrule.compiler', 'chainrule.interop'); print(*[m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
