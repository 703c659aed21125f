"""Optional imports for the tests: PyTorch (the reference) and the extras (onnx, notebook, docs) skip with the
reason when missing, or fail under CHAINRULE_REQUIRE_TORCH=1 / CHAINRULE_REQUIRE_EXTRAS=1 (as CI sets).

A module of its own, imported as `from optional_imports import ...`: tests/conftest.py re-exports the names, but
`from conftest import ...` would resolve to whichever conftest.py pytest imported last (tests/web has one too).
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

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
