"""`gradcheck` accepts correct gradients and names the input, element and both values of a wrong one;
`detect_anomaly` stops at the first operation whose forward or backward result holds NaN or inf.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import chainrule as cr


def _numbers_in(message: str) -> list[float]:
    return [float(m) for m in re.findall(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?", message)]


def test_gradcheck_returns_true_for_a_correct_function_of_several_inputs() -> None:
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 3)), rng.standard_normal(3), rng.uniform(0.5, 2.0, (3,))]
    f = lambda a, b, c: (cr.tanh(a @ b) ** 2).sum() + cr.log(c).sum() * b.sum()
    assert cr.gradcheck(f, inputs) is True


def test_gradcheck_accepts_tensors_and_custom_tolerances() -> None:
    x = cr.tensor([0.3, -0.4], requires_grad=True)
    assert cr.gradcheck(lambda t: cr.exp(t).sum(), [x], eps=1e-5, atol=1e-6, rtol=1e-5) is True


def _wrong_gradient(x, y):
    """Σ x·y + y[1, 2]²  with one factor of y[1, 2] detached: reverse mode misses half of that term."""
    return (x * y).sum() + y[1, 2] * y[1, 2].detach()


def test_gradcheck_raises_naming_the_input_the_element_and_both_values() -> None:
    x = np.full((2, 3), 0.5)
    y = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.75]])
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(_wrong_gradient, [x, y])
    message = str(info.value)
    assert re.search(r"\b1\b", message), message  # input number 1 (the second input)
    assert re.search(r"1,\s*2", message), message  # element index (1, 2)
    numbers = _numbers_in(message)
    analytic, numeric = 0.5 + 0.75, 0.5 + 2 * 0.75
    assert any(abs(v - analytic) < 1e-4 for v in numbers), message
    assert any(abs(v - numeric) < 1e-4 for v in numbers), message


def test_gradcheck_error_is_an_exception_type_of_its_own() -> None:
    assert issubclass(cr.GradcheckError, Exception)
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: (t * t.detach()).sum(), [np.array([1.0, 2.0])])


def test_gradcheck_of_a_correct_function_still_passes_where_a_wrong_one_fails_on_the_same_input() -> None:
    x = np.full((2, 3), 0.5)
    y = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.75]])
    assert cr.gradcheck(lambda a, b: (a * b).sum() + b[1, 2] * b[1, 2], [x, y]) is True


def test_detect_anomaly_stops_at_a_log_of_a_negative_number_and_names_it() -> None:
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception, match="log") as info, cr.detect_anomaly():
            y = cr.exp(x) * 2.0
            cr.log(x * y)
    assert not isinstance(info.value, AssertionError)
    assert "test_check.py:" in str(info.value), "the message should say where the tensor was created"


def test_detect_anomaly_stops_at_zero_over_zero_in_the_forward_pass() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception, match="div") as info, cr.detect_anomaly():
            x / x
    assert not isinstance(info.value, AssertionError)


def test_detect_anomaly_stops_at_an_infinite_gradient_in_the_backward_pass() -> None:
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with cr.detect_anomaly():
            y = cr.sqrt(x).sum()  # forward is finite: √0 = 0
            with pytest.raises(Exception, match="sqrt") as info:
                y.backward()  # backward: 1 / (2√0) = inf
    assert not isinstance(info.value, AssertionError)


def test_without_detect_anomaly_nan_values_propagate_silently() -> None:
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr.sqrt(x).sum().backward()
    assert np.isinf(x.grad.data[0]) and x.grad.data[1] == 0.25


def test_detect_anomaly_lets_finite_computations_through() -> None:
    x = cr.tensor([0.5, 4.0], requires_grad=True)
    with cr.detect_anomaly():
        cr.sqrt(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 0.5 / np.sqrt([0.5, 4.0]))
