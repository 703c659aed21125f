"""Project-wide test settings: a reproducible hypothesis profile, the `torch` reference fixture, and a summary
of skipped tests at the end of every run (why each was skipped, and the one command that runs them).

PyTorch is only a reference: its comparisons skip with a stated reason when it cannot be imported, unless
CHAINRULE_REQUIRE_TORCH=1 (as CI sets), where a missing torch fails the test instead. The same holds for the
optional extras (onnx, notebook, docs) under CHAINRULE_REQUIRE_EXTRAS=1.
"""

from __future__ import annotations

import os
from collections import Counter
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

# the helpers live in a module of their own: `from conftest import ...` would find whichever conftest.py was
# imported last (tests/web has one too)
from optional_imports import import_extra_or_skip, import_torch_or_skip  # noqa: F401

pytest_plugins = ["pytester"]  # tests/project/test_docs.py runs a small suite to check the skip summary

# Derandomized (the same examples every run, so CI is reproducible), no per-example deadline, few examples.
settings.register_profile(
    "chainrule",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chainrule"))


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """The `torch` module, for tests that compare chainrule with PyTorch."""
    return import_torch_or_skip()


def skip_reasons(reports: list) -> Counter:
    """How many tests were skipped for each reason (the reason as pytest.skip stated it)."""
    reasons: Counter = Counter()
    for report in reports:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    return reasons


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """After the run: each reason tests were skipped for, how many, and the command that runs them all."""
    reasons = skip_reasons(terminalreporter.stats.get("skipped", []))
    if not reasons:
        return
    terminalreporter.section(f"{sum(reasons.values())} skipped tests, and why")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:5d}  {reason}")
    terminalreporter.write_line("run them with `make test-all`: it installs every extra (PyTorch, onnx, the "
                                "notebook and docs tools) and Debian's chromium, as CI does (.ci/run)")
    if any("pdflatex" in reason for reason in reasons):
        terminalreporter.write_line("pdflatex comes with a TeX distribution: apt-get install texlive-latex-base")
