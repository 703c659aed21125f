"""Back-propagation written out (compiler/written_out.py, `chainrule explain --code`): the source that
chainrule.compile generates for one SGD step of a network on its example(s), headed by BP1–BP4 with the
network's sizes and its last layer's δ named. Writing it changes nothing in the model; the example may be one
row or a batch, the targets for cross-entropy integer labels or one-hot rows, and with fixed biases only the
weights are updated."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.compiler.written_out import training_step_source


def _network(sizes=(2, 3, 2), activation="sigmoid", dtype=np.float64):
    return nn.MLP(list(sizes), activation=activation, rng=0, dtype=dtype)


def _body(source: str) -> str:
    return source[source.index("def training_step"):]


def test_writing_the_step_leaves_the_model_as_it_was():
    model = _network()
    before = [p.data.copy() for p in model.parameters()]
    training_step_source(model, [0.5, -1.0], [1.0, 0.0], lr=0.5)
    for p, value in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, value)
        assert p.grad is None


def test_the_header_names_the_network_and_its_last_delta():
    source = training_step_source(_network((2, 4, 3, 1)), [0.5, -1.0], [1.0])
    assert "for the network 2-4-3-1, written out by chainrule.compile" in source
    assert "BP1  δ^L = ∇_a C ⊙ σ'(z^L)              the lines that end in delta3" in source
    assert source.index("BP1") < source.index("BP2") < source.index("BP3") < source.index("BP4")
    compile(_body(source), "written-out", "exec")  # the step itself is valid Python
    assert "delta3 = " in source and "dW1 = " in source


def test_one_example_is_a_batch_of_one_row():
    source = training_step_source(_network(), [0.5, -1.0], [1.0, 0.0])
    assert "a0 = a0_tensor.value  # (1, 2) float64" in source
    assert "z2 = a1 @ W2.T; z2 += b2  # (1, 2) float64" in source


def test_the_source_is_in_the_models_dtype():
    source = training_step_source(_network(dtype=np.float32), [0.5, -1.0], [1.0, 0.0])
    assert "W1 = W1_param.value  # (3, 2) float32" in source and "float64" not in _body(source)


def test_fixed_biases_update_only_the_weights():
    source = training_step_source(_network(), [0.5, -1.0], [1.0, 0.0], fixed_biases=True)
    assert "W1 -= dW1 * optimizer.lr" in source and "W2 -= dW2 * optimizer.lr" in source
    assert "b1 -=" not in source and "b2 -=" not in source
    free = training_step_source(_network(), [0.5, -1.0], [1.0, 0.0])
    assert "b1 -= db1 * optimizer.lr" in free


@pytest.mark.parametrize("x, one_hot, labels", [
    ([0.5, -1.0], [0.0, 0.0, 1.0], 2),                                              # one example
    ([[0.5, -1.0], [1.0, 2.0]], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [1, 0]),        # a batch
])
def test_cross_entropy_takes_one_hot_rows_or_integer_labels(x, one_hot, labels):
    model = _network((2, 3, 3), activation="tanh")
    source = training_step_source(model, x, one_hot, loss="ce")
    assert source == training_step_source(model, x, labels, loss="ce")
    assert "softmax_cross_entropy(z2, t)" in source


def test_a_model_without_sizes_is_named_by_its_class():
    source = training_step_source(nn.Linear(2, 1, rng=0), [[1.0, 2.0]], [[0.5]])
    assert "for the network Linear, written out" in source and "the lines that end in delta1" in source


def test_explain_code_prints_the_generated_step_beside_bp1_to_bp4(capsys):
    from chainrule.cli import main

    assert main(["explain", "examples/two-two-two.json", "--code"]) == 0
    out = capsys.readouterr().out
    assert "BP1" in out and "BP4" in out
    source = out[out.index("def training_step"):]
    compile(source, "explain-code", "exec")  # the printed code is valid Python
    for line in ("z1 = a0 @ W1.T; z1 += b1", "delta2 = ", "delta1 = da1 * a1 * (1 - a1)", "dW1 = delta1.T * a0",
                 "W2 -= dW2 * optimizer.lr"):
        assert line in source, line
