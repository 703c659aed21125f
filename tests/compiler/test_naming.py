"""Names in generated source (compiler/naming.py): the network's structure in the notation (a0, W1, b1, z1, a1,
..., C; ∂C/∂z^l as delta{l}, ∂C/∂W^l as dW{l}, ∂C/∂b^l as db{l}, ∂C/∂a^l as da{l}), the step's own parameter
names for its arguments (x_tensor for a Tensor, x_array for a one-value array), the operation and a number for
everything else, and never one name for two things."""
from __future__ import annotations

import builtins
import re

import numpy as np
import pytest
from test_compiler import _problem

import chainrule as cr
from chainrule import nn, optim
from chainrule.compiler import CompiledFunction
from chainrule.compiler.naming import Namer, _share_name
from chainrule.compiler.program import Var
from chainrule.compiler.tracer import Tracer


def _mlp_step(sizes, activation="tanh"):
    model = nn.MLP(sizes, activation=activation, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.5)

    def step(x, t, scale):
        opt.zero_grad()
        loss = nn.functional.mse(model(x), t) * scale
        loss.backward()
        opt.step()
        return loss
    return step


def _assigned(source: str) -> list[str]:
    """The names the source assigns, in order (`a, b = ...` gives both)."""
    names = []
    for line in source.splitlines():
        match = re.match(r"\s+([\w, ]+?) = ", line)
        if match and not line.strip().startswith("#"):
            names += [n.strip() for n in match.group(1).split(",")]
    return names


def test_claim_hands_out_each_name_once():
    namer = Namer(Tracer())
    assert [namer.claim("W1"), namer.claim("W1"), namer.claim("W1")] == ["W1", "W1_2", "W1_3"]
    assert namer.claim("np") == "np_2" and namer.claim("return") == "return_2"  # the source's own words
    assert namer.claim("d x") == "d_x" and namer.claim("2nd") == "v2nd" and namer.claim("") == "v"


@pytest.mark.parametrize("name, share", [("z2", "delta2"), ("W1", "dW1"), ("b3", "db3"), ("a1", "da1"),
                                         ("loss", "d_loss"), ("W1_2", "d_W1_2"), ("zz1", "d_zz1")])
def test_the_gradient_of_a_value_is_named_after_it(name, share):
    assert _share_name(Var("v", (2,), name=name)) == share


def test_a_gradient_of_an_unnamed_value_is_d_x():
    assert _share_name(None) == "d_x" and _share_name(Var("v")) == "d_x"


def test_a_network_is_written_in_the_notation_layer_by_layer():
    compiled = CompiledFunction(_mlp_step([2, 4, 3, 1]))
    compiled(cr.tensor(np.ones((5, 2))), np.zeros((5, 1)), np.asarray(2.0))
    source = compiled.source
    for line in ("z1 = x @ W1.T; z1 += b1", "a1 = tanh(z1)", "z2 = a1 @ W2.T; z2 += b2", "a2 = tanh(z2)",
                 "z3 = a2 @ W3.T; z3 += b3", "C = ", "da2 = delta3 @ W3", "dW3 = delta3.T @ a2",
                 "db3 = delta3.sum(axis=0)", "da1 = delta2 @ W2", "dW1 = delta1.T @ x", "W3_param.grad = new_leaf(dW3)"):
        assert line in source, line
    assert not re.search(r"^\s+a3 = ", source, re.MULTILINE)  # the last layer has no activation: z3 goes straight into the cost


def test_arguments_keep_the_steps_parameter_names():
    compiled = CompiledFunction(_mlp_step([2, 3, 1]))
    compiled(cr.tensor(np.ones((4, 2))), np.zeros((4, 1)), np.asarray(2.0))
    source = compiled.source
    assert "def step(x_tensor, t, scale_array):" in source
    assert "    x = x_tensor.value  # (4, 2) float64" in source
    assert "    scale = scale_array[()]  # () float64" in source  # one value, read as a NumPy scalar
    assert "W1 = W1_param.value" in source and "b1 = b1_param.value" in source


def test_a_parameter_named_like_the_notation_does_not_take_a_weights_name():
    def step(W1, t):
        return nn.functional.mse(model(W1), t)
    model = nn.MLP([2, 3, 1], rng=0)
    compiled = CompiledFunction(step)
    x = np.random.default_rng(0).normal(size=(4, 2))
    loss = compiled(cr.tensor(x), np.zeros((4, 1)))
    assert "z1 = W1 @ W1_2.T; z1 += b1" in compiled.source
    assert loss.item() == nn.functional.mse(model(cr.tensor(x)), np.zeros((4, 1))).item()


def test_no_name_is_assigned_twice_and_every_name_read_is_bound():
    """Each value of the program has a name of its own, and every name the body reads is a parameter, a name
    assigned earlier, or a name in the namespace the source runs in."""
    compiled = CompiledFunction(_mlp_step([3, 5, 4, 2], activation="relu"))
    compiled(cr.tensor(np.ones((6, 3))), np.zeros((6, 2)), np.asarray(0.5))
    source = compiled.source
    assigned = _assigned(source)
    assert len(assigned) == len(set(assigned)), sorted(n for n in assigned if assigned.count(n) > 1)
    entry = compiled._latest
    body = "\n".join(line.split("#")[0] for line in source.splitlines()[1:])
    body = re.sub(r"'[^']*'", "''", body)  # string literals ('mse') name nothing
    known = set(assigned) | set(entry.parameter_names) | set(entry.namespace) | {"del", "return", "out", "axis"}
    read = set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)", body))
    assert {"x", "W1", "z1", "a1", "delta1", "dW1", "C", "scale"} <= read
    for name in read:
        assert name in known or name in dir(builtins), name


def test_the_namespace_binds_the_tensors_the_source_reaches_by_name():
    model, opt, step = _problem([2, 3, 1], "sigmoid", "mse", "sgd", np.float64)
    compiled = CompiledFunction(step)
    compiled()
    namespace = compiled._latest.namespace
    first = model.parameters()[0]
    assert namespace["W1_param"] is first and namespace["optimizer"] is opt
    assert namespace["np"] is np


def test_the_source_shows_forward_backward_and_update_in_the_notation():
    _, _, step = _problem([2, 4, 1], "sigmoid", "mse", "sgd", np.float64)
    compiled = cr.compile(step)
    compiled()
    source = compiled.source
    forward, backward, update = (source.index(f"# ---- {part}") for part in ("forward", "backward", "update"))
    assert forward < backward < update
    for name in ("z1 = a0 @ W1.T; z1 += b1", "a1 = sigmoid(z1)", "delta2 =", "da1 = delta2 @ W2",
                 "dW1 = delta1.T @ a0", "db2 = delta2.sum(axis=0)", "W1 -= dW1 * optimizer.lr"):
        assert name in source, name
    assert "delta1 = da1 * a1 * (1 - a1)" in source  # BP2, the rule written out
    for line in source.splitlines():
        if " = " in line and not line.strip().startswith(("#", "del")) and ".grad" not in line:
            assert "#" in line, line  # every value's shape and dtype
