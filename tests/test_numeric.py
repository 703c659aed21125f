"""Central differences, the one derivative-free estimate the explainers compare with the engine."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.numeric import central_difference


def test_central_difference_is_exact_for_a_quadratic() -> None:
    assert central_difference(lambda s: 3.0 * (2.0 + s) ** 2 - 1.0, 0.5) == pytest.approx(12.0, rel=1e-15)


@given(x=st.floats(-3.0, 3.0))
def test_central_difference_of_sin_is_cos_to_second_order(x: float) -> None:
    h = 1e-4
    assert abs(central_difference(lambda s: math.sin(x + s), h) - math.cos(x)) <= h**2


def test_a_step_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="h must be > 0"):
        central_difference(math.sin, 0.0)
