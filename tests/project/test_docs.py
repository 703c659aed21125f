"""The documentation runs: every code block of docs/*.md (except architecture.md) is executed, in order; and the
site builds (`make docs`: mkdocs --strict, every public name with a docstring).

A ```python block runs in one namespace per file; when the next block is ```text it is the output the python
block must print (compared line by line, trailing spaces ignored). A ```console block's `$ chainrule ...`
lines run through the command-line entry point and must succeed.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main
from optional_imports import import_extra_or_skip

ROOT = Path(__file__).resolve().parents[2]
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


# ---------------------------------------------------------------- the documentation site (make docs)
API_PAGES = sorted((ROOT / "docs" / "api").glob("*.md"))


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, cwd=config.parent)


@pytest.mark.slow
def test_the_site_builds_strictly_with_the_notebook_and_the_api_reference(tmp_path):
    import_extra_or_skip("mkdocs", "docs")
    import_extra_or_skip("mkdocs_jupyter", "docs")
    import_extra_or_skip("mkdocstrings_handlers.python", "docs")
    built = _mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr[-3000:]
    notebook = (tmp_path / "site" / "notebooks" / "why-backprop" / "index.html").read_text(encoding="utf-8")
    assert "largest difference" in notebook
    interop_page = (tmp_path / "site" / "api" / "interop" / "index.html").read_text(encoding="utf-8")
    assert "to_torch" in interop_page and "A <code>torch.nn.Sequential</code> computing the same" in interop_page
    assert "(BP2)" in (tmp_path / "site" / "notation" / "index.html").read_text(encoding="utf-8")
    assert "Targets of issue 5" in (tmp_path / "site" / "benchmarks" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_broken_link_fails_the_strict_build(tmp_path):
    import_extra_or_skip("mkdocs", "docs")
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "benchmarks", copy / "benchmarks", ignore=shutil.ignore_patterns("results"))
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    with open(copy / "docs" / "index.md", "a", encoding="utf-8") as page:
        page.write("\nSee [the missing page](no-such-page.md).\n")
    built = _mkdocs_build(copy / "mkdocs.yml", tmp_path / "site")
    assert built.returncode != 0 and "no-such-page.md" in built.stderr


def test_the_notation_hook_drops_only_bracketed_indices():
    import importlib.util
    import logging

    spec = importlib.util.spec_from_file_location("notation_hook", ROOT / "docs" / "api" / "notation_hook.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)

    def kept(target: str) -> bool:
        record = logging.LogRecord("x", logging.WARNING, "", 0, f"Could not find cross-reference target '{target}'",
                                   None, None)
        return hook.NotationIndices().filter(record)

    assert not kept("j") and not kept("j, k") and not kept("l-1")
    assert kept("chainrule.Tensor") and kept("Module") and kept("interop")


def test_every_public_module_has_an_api_page():
    documented = {name for page in API_PAGES for name in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M)}
    for package in ("autodiff.tensor", "autodiff.functional", "nn.layers", "nn.module", "optim", "data", "train",
                    "io", "interop", "explain.network", "explain.chain", "explain.modes", "viz.plots", "sweep",
                    "diagnose", "compiler"):
        assert f"chainrule.{package}" in documented, package


@pytest.mark.parametrize("page", API_PAGES, ids=[p.name for p in API_PAGES])
def test_every_public_function_and_class_on_an_api_page_has_a_docstring(page):
    """A public function or class defined in a documented module needs a docstring (a class may inherit one from
    its base, as the activation modules do from Activation)."""
    missing = []
    for name in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M):
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if attribute.startswith("_") or not (inspect.isfunction(value) or inspect.isclass(value)):
                continue
            if getattr(value, "__module__", None) == name and not inspect.getdoc(value):
                missing.append(f"{name}.{attribute}")
    assert not missing, f"public names without a docstring: {', '.join(missing)}"


def test_docstring_coverage_stays_at_least_where_pyproject_sets_it():
    import_extra_or_skip("interrogate", "docs")
    checked = subprocess.run([sys.executable, "-m", "interrogate", "src/chainrule"], capture_output=True, text=True,
                             cwd=ROOT, timeout=300)
    assert checked.returncode == 0, checked.stdout[-2000:]


# ---------------------------------------------------------------- what `make test` says at the end
def test_make_test_ends_with_each_skip_reason_its_count_and_the_command_that_runs_them(pytester):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_some="""
        import pytest

        def test_runs():
            pass

        @pytest.mark.parametrize("n", [1, 2])
        def test_needs_a_browser(n):
            pytest.skip("Debian's chromium is not at /usr/bin/chromium")

        def test_needs_latex():
            pytest.skip("pdflatex is not installed")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*3 skipped tests, and why*", "*2  Debian's chromium is not at /usr/bin/chromium",
                                 "*1  pdflatex is not installed", "*make test-all*", "*texlive-latex-base*"])


def test_a_run_without_skips_prints_no_skip_summary(pytester):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_some="def test_runs():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "skipped tests, and why" not in result.stdout.str()
