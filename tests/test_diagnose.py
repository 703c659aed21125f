"""chainrule.diagnose: each verdict built on purpose, with the figures behind it; no run is called a local
minimum when continuing it reaches 100%, and a local minimum is claimed only at ‖∇C‖ ≈ 0 with a positive
definite Hessian. The same verdicts for regression (mean-squared error against a threshold)."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import diagnose as dg
from chainrule import sweep
from chainrule.autodiff import hessian
from chainrule.data import xor
from chainrule.nn.functional import OUTPUT_ACTIVATION
from chainrule.nn.layers import MLP
from chainrule.optim import SGD
from chainrule.train import fit

XOR_TARGET = dg.Target("train_acc", 1.0)


def _xor_run(loss: str, lr: float, seed: int, epochs: int):
    X, y = xor()
    model = MLP([2, 2, 1], output_activation=OUTPUT_ACTIVATION[loss], rng=seed)
    start = [p.data.copy() for p in model.parameters()]
    history = fit(model, loss, SGD(model.parameters(), lr=lr), (X, y), epochs, progress=False)
    return dg.diagnose(model, loss, (X, y), history, lr, XOR_TARGET, start)


def test_a_run_that_reaches_the_target_is_converged_with_the_epoch_it_got_there():
    found = _xor_run("half_sum", 0.5, 1, 2000)
    assert found.verdict == "converged" and found.figures["target reached at epoch"] > 0
    assert "first met after" in found.message


def test_a_small_learning_rate_is_a_plateau_still_moving_and_continuing_it_reaches_100_percent():
    found = _xor_run("half_sum", 0.05, 1, 5000)
    assert found.verdict == "plateau" and "local minimum" not in found.message
    assert "more epochs or a larger η" in found.message and found.figures["‖∇C‖"] > 0
    X, y = xor()
    longer = sweep.train_seeds([MLP([2, 2, 1], output_activation="sigmoid", rng=1)], "half_sum", "sgd", 0.05,
                               (X, y), 50_000)
    assert longer.train_acc[0, -1] == 1.0


def test_a_saturated_plateau_names_the_share_of_units_with_vanished_slope_and_is_not_a_local_minimum():
    found = _xor_run("mse", 2.0, 0, 5000)
    assert found.verdict == "saturated plateau"
    share = found.figures["σ′ ≈ 0 (hidden unit, example) pairs"]
    assert share.endswith("%") and int(share[:-1]) >= 25 and f"{share} of the" in found.message
    assert "no local minimum" in found.message and found.figures["‖∇C‖"] > dg.GRADIENT_ZERO


def test_a_huge_learning_rate_is_called_too_large_and_the_suggestion_from_curvature_trains():
    found = _xor_run("half_sum", 100.0, 1, 2000)
    assert found.verdict == "learning rate too large" and "η = 100" in found.message
    lam = found.figures["λ_max at start"]
    assert found.suggested_lr is not None and 0 < found.suggested_lr < 2 / lam
    better = _xor_run("half_sum", found.suggested_lr, 1, 5000)
    assert better.verdict in ("converged", "plateau")  # never diverging again


def test_power_iteration_finds_the_largest_eigenvalue_of_the_hessian():
    X, y = xor()
    model = MLP([2, 2, 1], output_activation="sigmoid", rng=0)
    cost = dg.cost_function(model, "mse", X, y)
    theta = dg.parameter_vector(model)
    H = dg._array(hessian(cost)(theta))
    assert dg.largest_curvature(cost, theta, steps=200) == pytest.approx(np.abs(np.linalg.eigvalsh(H)).max(),
                                                                         rel=1e-4)


def test_a_local_minimum_is_claimed_only_with_zero_gradient_and_a_positive_definite_hessian():
    # logistic regression on contradictory labels: C is strictly convex, its minimum sits at 50% accuracy
    X = np.array([[-1.0], [1.0], [-1.0], [1.0]])
    y = np.array([0, 1, 1, 0])
    model = MLP([1, 1], output_activation="sigmoid", rng=0)
    history = fit(model, "bce", SGD(model.parameters(), lr=1.0), (X, y), 400, progress=False)
    found = dg.diagnose(model, "bce", (X, y), history, 1.0, XOR_TARGET)
    assert found.verdict == "local minimum"
    assert found.figures["‖∇C‖"] < dg.GRADIENT_ZERO and found.figures["λ_min of the Hessian"] > 0


def test_relu_units_that_are_off_on_every_example_are_dead():
    X, y = xor()
    model = MLP([2, 4, 1], activation="relu", output_activation="sigmoid", rng=0)
    model.layers[0].bias.data[:] = -50.0
    history = fit(model, "mse", SGD(model.parameters(), lr=0.5), (X, y), 50, progress=False)
    found = dg.diagnose(model, "mse", (X, y), history, 0.5, XOR_TARGET)
    assert found.verdict == "dead ReLU units" and found.figures["dead units"] == "4/4"


def _regression(lr: float, epochs: int):
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    y = 0.5 * X[:, 0] ** 2
    model = MLP([1, 6, 1], activation="tanh", rng=0)  # identity output
    start = [p.data.copy() for p in model.parameters()]
    history = fit(model, "mse", SGD(model.parameters(), lr=lr), (X, y), epochs, progress=False)
    return dg.diagnose(model, "mse", (X, y), history, lr, dg.Target("train_loss", 1e-3), start)


@pytest.mark.parametrize("lr, epochs, verdict", [(0.3, 3000, "converged"), (1e-4, 300, "plateau"),
                                                 (60.0, 50, "learning rate too large")])
def test_regression_gets_the_same_verdicts_with_mse_against_a_threshold(lr, epochs, verdict):
    found = _regression(lr, epochs)
    assert found.verdict == verdict
    assert "train loss < 0.001" in found.message or verdict != "converged"
