"""A compiled function (compiler/function.py): it traces on the first call with a new signature (the shapes and
dtypes of its array arguments, the values of the others, whether gradients are recorded) and replays the program
after that, keeping a few signatures, least recently used first out. A program is replayed only while its
guards hold (the Python numbers it captured, the shape, dtype and requires_grad of every tensor it reads, plain
SGD still plain SGD); otherwise the function is traced again. Results keep the structure the function returned."""
from __future__ import annotations

import numpy as np
import pytest
from test_compiler import _close, _problem

import chainrule as cr
from chainrule import nn, optim
from chainrule.compiler import CompiledFunction, TraceError


def test_only_a_function_is_compiled():
    with pytest.raises(TypeError, match="compile: expected a function, got int"):
        CompiledFunction(3)


def test_max_signatures_must_keep_at_least_one_program():
    with pytest.raises(ValueError, match="max_signatures must be at least 1, got 0"):
        CompiledFunction(lambda: None, max_signatures=0)


def test_the_source_is_there_only_after_a_first_call():
    compiled = CompiledFunction(lambda x: (cr.tensor(x) * 2.0).sum())
    with pytest.raises(RuntimeError, match="nothing traced yet"):
        _ = compiled.source
    compiled(np.ones(3))
    assert "def step(x):" in compiled.source  # a lambda's program is called step; its parameter keeps its name


def test_the_compiled_function_wears_the_name_and_doc_of_the_function():
    def loss_of(x):
        """The loss."""
        return (cr.tensor(x) * 2.0).sum()
    compiled = CompiledFunction(loss_of)
    assert compiled.__name__ == "loss_of" and compiled.__doc__ == "The loss."
    assert repr(compiled).endswith("loss_of': 0 signature(s)>")
    compiled(np.ones(2))
    compiled(np.ones(3))
    assert repr(compiled).endswith("loss_of': 2 signature(s)>")
    assert "def loss_of(x):" in compiled.source


def test_the_cache_forgets_the_least_recently_used_signature():
    compiled = CompiledFunction(lambda x: (cr.tensor(x) * 3.0).sum(), max_signatures=2)
    for size in (4, 5, 4, 6, 4, 5):  # 4 is used again before 6 comes: 5 goes, not 4
        assert compiled(np.ones(size)).item() == 3.0 * size
    assert compiled.traces == 4  # 4, 5, 6, then 5 again
    assert len(compiled._cache) == 2


def test_a_python_number_argument_is_part_of_the_signature():
    compiled = CompiledFunction(lambda x, scale: (cr.tensor(x) * scale).sum())
    x = np.array([1.0, 2.0])
    assert compiled(x, 2.0).item() == 6.0
    assert compiled(x, 3.0).item() == 9.0
    assert compiled(x, 2.0).item() == 6.0
    assert compiled.traces == 2


def test_a_dtype_change_traces_again():
    compiled = CompiledFunction(lambda x: (cr.tensor(x) * 2.0).sum())
    assert compiled(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert compiled(np.ones(3, dtype=np.float64)).dtype == np.float64
    assert compiled.traces == 2


def test_keyword_arguments_reach_the_program_by_name():
    compiled = CompiledFunction(lambda x, *, w: (cr.tensor(x) * w).sum())
    x, w = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert compiled(x, w=w).item() == 11.0
    assert compiled(x, w=w * 2).item() == 22.0 and compiled.traces == 1


def test_a_captured_tensor_of_a_new_shape_traces_again():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    compiled = CompiledFunction(lambda: (w * w).sum())
    assert compiled().item() == 5.0
    w.data = np.array([1.0, 2.0, 3.0])
    assert compiled().item() == 14.0
    assert compiled.traces == 2


def test_a_captured_tensor_that_stops_requiring_grad_traces_again():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f():
        loss = (w * w).sum()
        if w.requires_grad:
            loss.backward()
        return loss
    compiled = CompiledFunction(f)
    compiled()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    w.requires_grad = False
    w.grad = None
    assert compiled().item() == 5.0 and w.grad is None
    assert compiled.traces == 2


def test_results_keep_their_structure_and_their_constants():
    w = cr.tensor([1.0, 2.0])

    def f(x):
        return {"loss": (w * x).sum(), "tag": "step", "parts": [cr.tensor(x) * 2.0, (w, 7)]}
    compiled = CompiledFunction(f)
    compiled(np.array([1.0, 1.0]))
    replayed = compiled(np.array([3.0, -1.0]))
    assert set(replayed) == {"loss", "tag", "parts"} and replayed["tag"] == "step"
    assert replayed["loss"].item() == 1.0
    doubled, (same_w, seven) = replayed["parts"]
    np.testing.assert_array_equal(doubled.data, [6.0, -2.0])
    np.testing.assert_array_equal(same_w.data, [1.0, 2.0])
    assert seven == 7 and isinstance(replayed["parts"][1], tuple)
    assert compiled.traces == 1


def test_returning_an_array_made_outside_chainrule_is_refused():
    compiled = CompiledFunction(lambda x: np.zeros(3))
    with pytest.raises(TraceError, match=r"returned an array computed outside chainrule's operations \(of shape "
                                         r"\(3,\)\)"):
        compiled(np.ones(2))


def test_inside_a_forward_mode_sweep_the_function_runs_eagerly():
    compiled = CompiledFunction(lambda x: cr.sin(x) * x)
    x, v = np.array([0.3, -1.2]), np.array([1.0, 2.0])
    value, tangent = cr.jvp(compiled, (x,), (v,))
    np.testing.assert_allclose(np.asarray(tangent), (np.cos(x) * x + np.sin(x)) * v, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(value), np.sin(x) * x, rtol=1e-12)
    assert compiled.traces == 0


def test_the_compiled_step_is_the_same_step_over_many_calls():
    """Ten replays of an SGD step equal ten eager steps exactly (float64, the same operations in the same order)."""
    eager_model, _, eager_step = _problem([3, 5, 2], "relu", "mse", "sgd", np.float64)
    model, _, step = _problem([3, 5, 2], "relu", "mse", "sgd", np.float64)
    compiled = CompiledFunction(step)
    for _ in range(10):
        _close(compiled().item(), eager_step().item(), np.float64)
    for p, q in zip(model.parameters(), eager_model.parameters()):
        _close(p.data, q.data, np.float64)
    assert compiled.traces == 1


def test_the_generated_source_is_what_runs():
    """The replay is compiled from `.source` under a file name of its own, so a traceback shows its lines."""
    import linecache
    import traceback

    compiled = CompiledFunction(lambda x: cr.log(cr.tensor(x)).sum())
    compiled(np.ones(2))
    try:
        with np.errstate(all="raise"):
            compiled(np.array([-1.0, 1.0]))
    except FloatingPointError as error:
        frames = traceback.extract_tb(error.__traceback__)
    else:
        pytest.fail("log of a negative number under errstate(all='raise') should raise")
    generated = [f for f in frames if f.filename.startswith("<chainrule.compile #")]
    assert generated and linecache.getline(generated[0].filename, generated[0].lineno).strip() in compiled.source
    assert compiled.traces == 1


def test_changing_the_learning_rate_takes_effect_without_a_new_trace():
    eager_model, eager_opt, eager_step = _problem([2, 3, 1], "tanh", "mse", "sgd", np.float64)
    model, opt, step = _problem([2, 3, 1], "tanh", "mse", "sgd", np.float64)
    compiled = cr.compile(step)
    for lr in (0.1, 0.5, 2.0):
        opt.lr = eager_opt.lr = lr
        _close(compiled().item(), eager_step().item(), np.float64)
    assert compiled.traces == 1
    opt.momentum = eager_opt.momentum = 0.9  # no longer plain SGD: the guard sends it back to the tracer
    for _ in range(3):
        _close(compiled().item(), eager_step().item(), np.float64)
    assert compiled.traces == 2
    for p, q in zip(model.parameters(), eager_model.parameters()):
        _close(p.data, q.data, np.float64)


def test_a_new_shape_traces_again_and_the_cache_is_bounded():
    model = nn.MLP([3, 4, 1], activation="relu", rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, t):
        opt.zero_grad()
        loss = nn.functional.mse(model(x), t)
        loss.backward()
        opt.step()
        return loss
    compiled = cr.compile(step, max_signatures=2)
    rng = np.random.default_rng(1)
    for batch in (4, 4, 5, 6, 4):
        compiled(rng.normal(size=(batch, 3)), rng.normal(size=(batch, 1)))
    assert compiled.traces == 4  # 4, 5, 6, then 4 again after it was evicted
    assert len(compiled._cache) == 2


def test_a_captured_number_that_changes_traces_again():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    scale = 2.0

    def f():
        return (w * scale).sum()
    compiled = cr.compile(f)
    assert compiled().item() == 6.0
    scale = 3.0
    assert compiled().item() == 9.0
    assert compiled.traces == 2


def test_a_compiled_step_uses_weights_loaded_afterwards():
    model, _, step = _problem([2, 3, 1], "sigmoid", "mse", "sgd", np.float64)
    other, _, _ = _problem([2, 3, 1], "sigmoid", "mse", "sgd", np.float64, seed=5)
    compiled = cr.compile(step)
    compiled()
    model.load_state_dict(other.state_dict())
    twin, _, twin_step = _problem([2, 3, 1], "sigmoid", "mse", "sgd", np.float64)
    twin.load_state_dict(other.state_dict())
    _close(compiled().item(), twin_step().item(), np.float64)


def test_no_grad_is_honoured():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    compiled = cr.compile(lambda x: (w * x).sum())
    with cr.no_grad():
        out = compiled(np.array([3.0, 4.0]))
    assert out.item() == 11.0 and not out.requires_grad


def test_profile_times_every_statement():
    _, _, step = _problem([2, 3, 1], "tanh", "mse", "sgd", np.float64)
    compiled = cr.compile(step)
    rows = compiled.profile(repeat=3)
    assert len(rows) == len(compiled._latest.statement_lines)
    assert all(seconds >= 0 for seconds, _ in rows)
    assert any(" @ " in line for _, line in rows)


def test_profile_lists_the_statements_slowest_first_and_moves_the_parameters_on():
    model, _, step = _problem([2, 3, 1], "tanh", "mse", "sgd", np.float64)
    compiled = CompiledFunction(step)
    before = model.parameters()[0].data.copy()
    rows = compiled.profile(repeat=4)
    seconds = [s for s, _ in rows]
    assert seconds == sorted(seconds, reverse=True)
    assert sorted(line for _, line in rows) == sorted(compiled._latest.statement_lines)
    assert not np.array_equal(model.parameters()[0].data, before)  # 1 call + 4 timed replays: 5 SGD steps
    assert compiled.traces == 1


def test_every_call_returns_the_same_kind_of_result_the_first_one_included() -> None:
    """The traced call runs eagerly, but it returns what a replay returns: Tensors as new leaves without the
    trace's graph (results are values, as with jax.jit; compile the gradient to differentiate)."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    f = cr.compile(lambda x: ((x * w).sum(), x * w, 3))
    results = [f(np.array([3.0, 4.0])) for _ in range(3)]
    for total, product, constant in results:
        assert type(total) is cr.Tensor and total.node is None and total.requires_grad is False
        assert type(product.data) is np.ndarray and product.node is None
        assert total.item() == 11.0 and constant == 3
        np.testing.assert_array_equal(product.data, [3.0, 8.0])
    assert f.traces == 1
