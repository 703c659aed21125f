"""Project-wide test settings: a reproducible hypothesis profile, the `torch` reference fixture, and a summary
of skipped tests at the end of every run (why each was skipped, and the one command that runs them).

PyTorch is only a reference: its comparisons skip with a stated reason when it cannot be imported, unless
CHAINRULE_REQUIRE_TORCH=1 (as CI sets), where a missing torch fails the test instead. The same holds for the
optional extras (onnx, notebook, docs) under CHAINRULE_REQUIRE_EXTRAS=1.
"""

from __future__ import annotations

import importlib
import os
from collections import Counter
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]  # tests/test_docs.py runs a small suite to check the skip summary

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

TORCH_REQUIRED = os.environ.get("CHAINRULE_REQUIRE_TORCH") == "1"


def import_torch_or_skip() -> ModuleType:
    """Import PyTorch; skip (or fail, under CHAINRULE_REQUIRE_TORCH=1) with the reason when it is missing."""
    try:
        import torch
    except ImportError as exc:
        reason = f"PyTorch is not importable ({exc}); install the reference with: pip install -e '.[compare]'"
        if TORCH_REQUIRED:
            pytest.fail(f"CHAINRULE_REQUIRE_TORCH=1 but {reason}", pytrace=False)
        pytest.skip(f"comparison with PyTorch skipped: {reason}")
    return torch


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """The `torch` module, for tests that compare chainrule with PyTorch."""
    return import_torch_or_skip()


EXTRAS_REQUIRED = os.environ.get("CHAINRULE_REQUIRE_EXTRAS") == "1"


def import_extra_or_skip(module: str, extra: str) -> ModuleType:
    """Import an optional package; skip (or fail, under CHAINRULE_REQUIRE_EXTRAS=1) naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f"{module} is not importable ({exc}); install it with: pip install -e '.[{extra}]'"
        if EXTRAS_REQUIRED:
            pytest.fail(f"CHAINRULE_REQUIRE_EXTRAS=1 but {reason}", pytrace=False)
        pytest.skip(reason)


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
