"""Project-wide test settings: a reproducible hypothesis profile and the `torch` reference fixture.

PyTorch is only a reference: its comparisons skip with a stated reason when it cannot be imported, unless
CHAINRULE_REQUIRE_TORCH=1 (as CI sets), where a missing torch fails the test instead.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

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
