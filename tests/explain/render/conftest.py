"""Fixtures shared by the renderer tests: the worked examples of examples/, explained once per test module."""
from __future__ import annotations

import pytest
from render_examples import explained


@pytest.fixture(scope="module")
def worked():
    """The classic 2-2-2 sigmoid network on one example (Mazur's numbers)."""
    return explained("two-two-two")


@pytest.fixture(scope="module")
def batch():
    """A 2-2-1 network on the four XOR examples at once."""
    return explained("xor-batch")
