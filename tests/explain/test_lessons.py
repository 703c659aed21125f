"""Specification of the lessons: the article's hidden-layer rule against BP2, and gradient checkpointing."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.explain import explain, random_problem
from chainrule.explain.lessons import (
    checkpointing,
    compare_with_article,
    format_article_comparison,
    format_checkpointing,
)


@pytest.fixture
def two_three_two_one():
    p = random_problem([2, 3, 2, 1], seed=0)
    return explain(p.model, p.x, p.t, p.loss, p.lr)


def test_the_article_agrees_at_the_output_and_leaves_out_later_sigma_primes_below(two_three_two_one):
    e = two_three_two_one
    c = compare_with_article(e)
    d = e.derivation
    out, middle, first = c.layers[2], c.layers[1], c.layers[0]
    assert out.relative_difference == pytest.approx(0, abs=1e-15) and out.missing == ""
    # one output neuron: the article's layer-2 update is the true one divided by the scalar σ′(z³)
    np.testing.assert_allclose(middle.article_update, middle.true_update / d.sigma_prime[3][0, 0], rtol=1e-12)
    assert middle.missing == "σ′(z³)" and first.missing == "σ′(z³) σ′(z²)"
    assert first.relative_difference > middle.relative_difference > 1  # the error grows with depth
    assert first.cosine < 1 - 1e-7  # σ′(z²) differs per neuron: the direction changes too


def test_the_article_comparison_prints_a_row_per_layer_and_the_costs(two_three_two_one):
    text = format_article_comparison(compare_with_article(two_three_two_one))
    assert "σ′(z³) σ′(z²)" in text and "nothing (BP1)" in text and "by the article's rule" in text


def test_the_article_rule_is_only_for_half_the_squared_error():
    p = random_problem([2, 3, 2, 1], seed=0, loss="bce")
    with pytest.raises(ValueError, match="half_sum"):
        compare_with_article(explain(p.model, p.x, p.t, "bce", p.lr))


@pytest.mark.parametrize("every", [1, 3, 4, 16])
def test_checkpointing_gives_the_same_gradient_for_less_memory_and_more_forward_work(every):
    r = checkpointing(width=8, layers=16, batch=4, every=every)
    assert r.max_difference < 1e-12
    assert r.stored_checkpointed == -(-16 // every) + every and r.stored_full == 17
    assert r.layer_evaluations_checkpointed == 2 * r.layer_evaluations_full
    assert "checkpoints every" in format_checkpointing(r)


def test_checkpointing_refuses_a_segment_length_outside_the_network():
    with pytest.raises(ValueError, match="every must be between 1"):
        checkpointing(layers=4, every=0)


def test_the_stored_values_report_of_compare_modes_ends_with_the_checkpointing_trade():
    from chainrule.explain import modes
    problem = modes.make_problem((4, 4, 1))
    text = modes.format_stored_report(modes.stored_for_backward(problem), problem)
    assert "Gradient checkpointing trades it for recomputation" in text
    assert "checkpoints every 4 layers keep 8 at a time" in text
