"""chainrule.compile: a replay equals the eager call (values, parameters, gradients, optimiser state), the
source reads as back-propagation, and whatever cannot be replayed faithfully is refused at trace time."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.functional import COSTS
from chainrule.optim import OPTIMIZERS


def _problem(sizes, activation, cost, optimizer, dtype, seed=0, batch=8):
    rng = np.random.default_rng(seed)
    spec = COSTS[cost]
    model = nn.MLP(sizes, activation=activation, output_activation=spec.output_activation or "identity",
                   dtype=dtype, rng=seed)
    X = cr.tensor(rng.normal(size=(batch, sizes[0])).astype(dtype))
    if cost == "ce":
        t = rng.integers(0, sizes[-1], size=batch)
    else:
        t = rng.integers(0, 2, size=(batch, sizes[-1])).astype(dtype)
    settings_ = dict(OPTIMIZERS[optimizer].defaults)
    settings_["lr"] = 0.05
    opt = OPTIMIZERS[optimizer](model.parameters(), **settings_)

    def step():
        opt.zero_grad()
        loss = spec(model(X), t)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def _close(a, b, dtype):
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 4), width=st.integers(1, 64), activation=st.sampled_from(sorted(ACTIVATIONS)),
       cost=st.sampled_from(sorted(COSTS)), optimizer=st.sampled_from(["sgd", "momentum", "adam", "rmsprop"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_twenty_compiled_steps_equal_twenty_eager_steps(depth, width, activation, cost, optimizer, dtype):
    outputs = 3 if cost == "ce" else 1
    sizes = [2] + [width] * (depth - 1) + [outputs]
    eager_model, eager_opt, eager_step = _problem(sizes, activation, cost, optimizer, dtype)
    model, opt, step = _problem(sizes, activation, cost, optimizer, dtype)
    compiled = cr.compile(step)
    eager = [eager_step().item() for _ in range(20)]
    replayed = [compiled().item() for _ in range(20)]
    _close(replayed, eager, dtype)
    assert compiled.traces == 1
    for p, q in zip(model.parameters(), eager_model.parameters()):
        _close(p.data, q.data, dtype)
        _close(p.grad.data, q.grad.data, dtype)
        assert p.data.dtype == q.data.dtype
    for key, state in eager_opt.state.items():
        for name, value in state.items():
            _close(np.asarray(opt.state[key][name], dtype=float), np.asarray(value, dtype=float), dtype)


def test_the_replay_updates_the_parameters_own_arrays_in_place():
    model, _, step = _problem([2, 3, 1], "tanh", "mse", "sgd", np.float64)
    arrays = [p.data for p in model.parameters()]
    before = [a.copy() for a in arrays]
    compiled = cr.compile(step)
    compiled()
    compiled()
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert all(not np.array_equal(a, b) for a, b in zip(arrays, before))


def test_arguments_are_inputs_not_constants():
    model = nn.MLP([3, 4, 2], activation="tanh", rng=0)
    eager_model = copy.deepcopy(model)
    opts = [optim.Adam(m.parameters(), lr=0.01) for m in (model, eager_model)]

    def make(m, opt):
        def step(x, labels):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), labels)
            loss.backward()
            opt.step()
            return loss, m(x)
        return step
    compiled, eager = cr.compile(make(model, opts[0])), make(eager_model, opts[1])
    rng = np.random.default_rng(2)
    for _ in range(5):
        x, labels = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
        (loss, out), (eager_loss, eager_out) = compiled(x, labels), eager(x, labels)
        _close(loss.item(), eager_loss.item(), np.float64)
        _close(out.data, eager_out.data, np.float64)
        assert isinstance(loss, cr.Tensor) and isinstance(out, cr.Tensor)
    assert compiled.traces == 1


def _functions():
    def f(x, y):
        return (cr.sin(x) * y + cr.exp(-x * x) * cr.tanh(y)).sum() + cr.relu(x - 0.3).sum()
    return f


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "vjp", "jvp", "hessian"])
def test_compiled_transforms_equal_eager_ones_at_new_points(transform):
    f = _functions()
    if transform == "grad":
        fn = cr.grad(f, argnums=(0, 1))
    elif transform == "value_and_grad":
        fn = cr.value_and_grad(f, argnums=(0, 1))
    elif transform == "vjp":
        def fn(x, y):
            return cr.vjp(lambda a: cr.sin(a) * y, x)[1](y)
    elif transform == "jvp":
        def fn(x, y):
            return cr.jvp(lambda a: cr.sin(a) * cr.relu(a) * y, (x,), (y,))
    else:
        def fn(x, y):
            return cr.hessian(lambda a: (cr.sin(a) * a * a).sum())(x)
    compiled = cr.compile(fn)
    rng = np.random.default_rng(3)
    for _ in range(4):
        x, y = rng.normal(size=3), rng.normal(size=3)
        got, want = compiled(x, y), fn(x, y)
        for a, b in zip(np.atleast_1d(np.asarray(got, dtype=object)), np.atleast_1d(np.asarray(want, dtype=object))):
            np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12)
    assert compiled.traces == 1


def test_a_tensor_argument_receives_its_gradient():
    def step(w):
        loss = (w * w * 3.0).sum()
        loss.backward()
        return loss
    compiled = cr.compile(step)
    for values in ([1.0, 2.0], [3.0, -1.0]):
        w = cr.tensor(values, requires_grad=True)
        compiled(w)
        np.testing.assert_allclose(w.grad.data, 6 * np.array(values))


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_every_cost_with_new_data_at_each_call_equals_eager(cost):
    """Targets that change between calls reach the program as inputs (a cost that turned them into a constant
    with NumPy, as binary cross-entropy's 1 − t once did, would fail here)."""
    outputs = 3 if cost == "ce" else 1
    models = [nn.MLP([2, 5, outputs], activation="tanh", output_activation=COSTS[cost].output_activation
                     or "identity", rng=4) for _ in range(2)]
    opts = [optim.Adam(m.parameters(), lr=0.05) for m in models]

    def make(model, opt):
        def step(x, t):
            opt.zero_grad()
            loss = COSTS[cost](model(x), t)
            loss.backward()
            opt.step()
            return loss
        return step
    compiled, eager = cr.compile(make(models[0], opts[0])), make(models[1], opts[1])
    rng = np.random.default_rng(7)
    for _ in range(8):
        x = rng.normal(size=(6, 2))
        t = rng.integers(0, outputs, size=6) if cost == "ce" else rng.integers(0, 2, size=(6, 1)).astype(float)
        _close(compiled(x, t).item(), eager(x, t).item(), np.float64)
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        _close(p.data, q.data, np.float64)
    assert compiled.traces == 1
