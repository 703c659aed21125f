"""Costs C(y, t): values against their formulas and PyTorch, target shapes, stability, accuracy, names."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from chainrule.nn import functional as F


def test_mse_reductions_follow_their_formulas() -> None:
    y, t = np.array([[0.2], [0.9], [0.4]]), np.array([[0.0], [1.0], [1.0]])
    squared = (y - t) ** 2
    assert F.mse(cr.tensor(y), t).item() == pytest.approx(squared.mean())
    assert F.mse(cr.tensor(y), t, reduction="sum").item() == pytest.approx(squared.sum())
    assert F.mse(cr.tensor(y), t, reduction="half_sum").item() == pytest.approx(0.5 * squared.sum())
    np.testing.assert_allclose(F.mse(cr.tensor(y), t, reduction="none").data, squared)


def test_targets_may_be_labels_for_one_output_or_one_hot_for_several() -> None:
    y = cr.tensor([[0.2], [0.7]])
    assert F.mse(y, np.array([0, 1])).item() == pytest.approx(((0.2 - 0) ** 2 + (0.7 - 1) ** 2) / 2)
    logits_like = cr.tensor([[0.1, 0.8, 0.1], [0.6, 0.2, 0.2]])
    expected = np.mean((logits_like.data - np.eye(3)[[1, 0]]) ** 2)
    assert F.mse(logits_like, np.array([1, 0])).item() == pytest.approx(expected)


def test_mismatched_targets_are_refused_with_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"mse: outputs of shape \(4, 2\) and targets of shape \(3,\)"):
        F.mse(cr.tensor(np.zeros((4, 2))), np.zeros(3))


def test_targets_of_the_same_size_but_another_shape_are_not_silently_reshaped() -> None:
    with pytest.raises(ValueError, match=r"\(4, 2\) and targets of shape \(2, 4\)"):
        F.mse(cr.tensor(np.zeros((4, 2))), np.zeros((2, 4)))


def test_unknown_reduction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        F.mse(cr.tensor([1.0]), [0.0], reduction="avg")


def test_losses_match_pytorch(torch) -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0.05, 0.95, (6, 1))
    logits = rng.normal(size=(6, 4))
    targets = rng.integers(0, 2, (6, 1)).astype(float)
    labels = rng.integers(0, 4, 6)
    functional = torch.nn.functional
    pairs = [
        (F.mse(cr.tensor(probabilities), targets), functional.mse_loss(torch.tensor(probabilities), torch.tensor(targets))),
        (F.binary_cross_entropy(cr.tensor(probabilities), targets),
         functional.binary_cross_entropy(torch.tensor(probabilities), torch.tensor(targets))),
        (F.binary_cross_entropy_with_logits(cr.tensor(logits[:, :1]), targets),
         functional.binary_cross_entropy_with_logits(torch.tensor(logits[:, :1]), torch.tensor(targets))),
        (F.cross_entropy(cr.tensor(logits), labels), functional.cross_entropy(torch.tensor(logits), torch.tensor(labels))),
    ]
    for ours, theirs in pairs:
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


def test_bce_with_logits_is_finite_with_finite_gradients_for_huge_logits() -> None:
    z = cr.tensor([[1e4], [-1e4], [30.0]], requires_grad=True)
    cost = F.binary_cross_entropy_with_logits(z, np.array([[0.0], [1.0], [1.0]]))
    cost.backward()
    assert cost.item() == pytest.approx((1e4 + 1e4 + np.log1p(np.exp(-30.0))) / 3)
    assert np.all(np.isfinite(z.grad.data))


def test_bce_on_saturated_probabilities_stays_finite() -> None:
    y = cr.tensor([[1.0], [0.0]], requires_grad=True)
    cost = F.binary_cross_entropy(y, np.array([[0.0], [1.0]]))
    cost.backward()
    assert np.isfinite(cost.item()) and cost.item() > 30
    assert np.all(np.isfinite(y.grad.data))


def test_cross_entropy_is_stable_for_huge_logits_and_checks_labels() -> None:
    logits = cr.tensor([[1e4, 0.0], [0.0, 1e4]])
    assert F.cross_entropy(logits, np.array([0, 1])).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        F.cross_entropy(logits, np.array([0, 2]))
    with pytest.raises(ValueError, match="2 rows of logits but labels of shape .3,."):
        F.cross_entropy(logits, np.array([0, 1, 1]))


def test_accuracy_uses_argmax_for_several_outputs_and_the_threshold_for_one() -> None:
    assert F.accuracy(np.array([[0.2], [0.7], [0.6]]), np.array([0, 1, 0])) == pytest.approx(2 / 3)
    assert F.accuracy(np.array([[-0.1], [0.3]]), np.array([0, 1]), threshold=0.0) == 1.0
    assert F.accuracy(np.array([[1.0, 3.0], [2.0, 0.0]]), np.array([1, 1])) == 0.5
    assert F.accuracy(np.array([[1.0, 3.0], [2.0, 0.0]]), np.eye(2)[[1, 0]]) == 1.0


def test_names_map_to_costs_and_the_logit_cost_splits_classes_at_zero() -> None:
    assert set(F.LOSSES) == {"mse", "half_sum", "bce", "bce_logits", "ce"}
    assert F.get_loss("half_sum")(cr.tensor([[0.5]]), [[1.0]]).item() == pytest.approx(0.125)
    assert F.decision_threshold("bce_logits") == 0.0 and F.decision_threshold(BCEWithLogitsLoss()) == 0.0
    assert F.decision_threshold("mse") == 0.5
    with pytest.raises(ValueError, match="unknown loss 'hinge'; choose one of mse"):
        F.get_loss("hinge")


def test_loss_modules_equal_their_functions() -> None:
    y, t = cr.tensor([[0.3], [0.8]]), np.array([[0.0], [1.0]])
    assert MSELoss("half_sum")(y, t).item() == F.mse(y, t, "half_sum").item()
    assert BCELoss()(y, t).item() == F.binary_cross_entropy(y, t).item()
    assert BCEWithLogitsLoss()(y, t).item() == F.binary_cross_entropy_with_logits(y, t).item()
    logits = cr.tensor([[0.3, 1.0], [0.8, -1.0]])
    assert CrossEntropyLoss()(logits, [1, 0]).item() == F.cross_entropy(logits, [1, 0]).item()
