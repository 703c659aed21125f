"""Optimisers update parameters in place by their formulas (checked by hand and against torch.optim)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import _blas, nn, optim


def _quadratic_step(p: cr.Tensor, target: np.ndarray) -> None:
    """Gradient of C = ½‖p − target‖² is p − target."""
    cost = 0.5 * ((p - target) * (p - target)).sum()
    cost.backward()


def test_sgd_step_is_w_minus_lr_times_gradient_written_in_place() -> None:
    p = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    storage = p.data
    _quadratic_step(p, np.zeros(3))
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.9, -1.8, 2.7])
    assert p.data is storage  # updated in place, not replaced


def test_zero_grad_clears_gradients_so_they_do_not_accumulate() -> None:
    p = cr.tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1)
    _quadratic_step(p, np.zeros(1))
    optimizer.zero_grad()
    assert p.grad is None


def test_parameters_without_gradient_are_left_alone() -> None:
    used, unused = cr.tensor([1.0], requires_grad=True), cr.tensor([5.0], requires_grad=True)
    _quadratic_step(used, np.zeros(1))
    optim.SGD([used, unused], lr=0.5, momentum=0.9).step()
    assert unused.data[0] == 5.0 and used.data[0] == 0.5


@pytest.mark.parametrize(
    "options",
    [{"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, {"momentum": 0.5, "weight_decay": 0.1},
     {"weight_decay": 0.01}],
)
def test_sgd_matches_torch_over_several_steps(torch, options) -> None:
    _compare_with_torch(torch, lambda ps: optim.SGD(ps, lr=0.05, **options),
                        lambda ps: torch.optim.SGD(ps, lr=0.05, **options))


@pytest.mark.parametrize("options", [{}, {"betas": (0.8, 0.99), "eps": 1e-6}, {"weight_decay": 0.05}])
def test_adam_matches_torch_over_several_steps(torch, options) -> None:
    _compare_with_torch(torch, lambda ps: optim.Adam(ps, lr=0.01, **options),
                        lambda ps: torch.optim.Adam(ps, lr=0.01, **options))


def _compare_with_torch(torch, ours_factory, theirs_factory, steps: int = 6) -> None:
    rng = np.random.default_rng(0)
    model = nn.MLP([3, 4, 2], activation="tanh", rng=rng)
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    reference = [torch.tensor(p.data.copy(), requires_grad=True) for p in model.parameters()]
    ours, theirs = ours_factory(model.parameters()), theirs_factory(reference)
    for _ in range(steps):
        ours.zero_grad()
        nn.functional.mse(model(x), t).backward()
        ours.step()
        theirs.zero_grad()
        W1, b1, W2, b2 = reference
        output = torch.tanh(torch.tensor(x) @ W1.T + b1) @ W2.T + b2
        torch.nn.functional.mse_loss(output, torch.tensor(t)).backward()
        theirs.step()
    for p, q in zip(model.parameters(), reference):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_float32_parameters_stay_float32_after_steps() -> None:
    model = nn.MLP([2, 3, 1], dtype=np.float32, rng=0)
    for optimizer in (optim.SGD(model.parameters(), lr=0.1, momentum=0.9), optim.Adam(model.parameters())):
        nn.functional.mse(model(np.ones((2, 2), dtype=np.float32)), np.zeros((2, 1))).backward()
        optimizer.step()
        assert all(p.data.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize(
    ("factory", "message"),
    [(lambda p: optim.SGD(p, lr=-1), "lr must be"), (lambda p: optim.SGD(p, lr=0.1, momentum=1.5), "momentum"),
     (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"), (lambda p: optim.Adam(p, betas=(0.9,)), "betas"),
     (lambda p: optim.SGD([], lr=0.1), "no parameters")],
)
def test_bad_optimiser_settings_are_refused(factory, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory([cr.tensor([1.0], requires_grad=True)])


def test_a_tensor_without_requires_grad_is_not_a_parameter() -> None:
    with pytest.raises(TypeError, match="parameter 0"):
        optim.SGD([cr.tensor([1.0])], lr=0.1)


def test_step_schedule_multiplies_the_rate_by_gamma_every_step_size_epochs() -> None:
    optimizer = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    schedule = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    rates = [schedule.step() for _ in range(5)]
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25]
    assert optimizer.lr == 0.25


def test_cosine_schedule_falls_from_the_base_rate_to_the_minimum() -> None:
    optimizer = optim.Adam([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    schedule = optim.CosineLR(optimizer, total_epochs=4, min_lr=0.01)
    rates = [schedule.step() for _ in range(6)]
    expected = [0.01 + 0.5 * 0.09 * (1 + np.cos(np.pi * e / 4)) for e in (1, 2, 3, 4, 4, 4)]
    np.testing.assert_allclose(rates, expected)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_sgd_updates_parameters_large_enough_for_blas_exactly(layout) -> None:
    from chainrule.optim import BLAS_MIN_SIZE

    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, BLAS_MIN_SIZE + 7))  # on the fast path's side of the threshold, with a tail
    if layout == "transposed":
        w0 = w0.T  # not C-contiguous: updated whole, still in place
    g = rng.standard_normal(w0.shape)
    p = cr.tensor(w0, requires_grad=True)
    if layout == "transposed":
        p.data = np.asarray(w0).T.copy().T
    target = p.data
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    expected, velocity = w0.copy(), np.zeros_like(w0)
    for _ in range(3):
        p.grad = cr.tensor(g)
        opt.step()
        decayed = g + 0.01 * expected
        velocity = 0.9 * velocity + decayed
        expected = expected - 0.1 * (decayed + 0.9 * velocity)
    assert p.data is target
    np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "small"])
def test_plain_sgd_step_without_blas_equals_w_minus_lr_times_g_exactly_at_every_size(layout, dtype,
                                                                                    monkeypatch) -> None:
    from chainrule.optim import BLAS_MIN_SIZE

    monkeypatch.setattr(optim, "axpy", lambda alpha, x, y: False)  # as where NumPy has no bundled OpenBLAS
    rng = np.random.default_rng(5)
    shape = (4, BLAS_MIN_SIZE // 3 + 5) if layout != "small" else (7, 5)
    w0 = rng.standard_normal(shape).astype(dtype)
    p = cr.tensor(w0.T.copy().T if layout == "transposed" else w0.copy(), requires_grad=True)
    target = p.data
    opt = optim.SGD([p], lr=0.05)
    expected = w0.copy()
    for _ in range(3):
        g = rng.standard_normal(shape).astype(dtype)
        p.grad = cr.tensor(g)
        opt.step()
        expected -= g * dtype(0.05)
        np.testing.assert_array_equal(p.grad.data, g)  # the gradient is read, never overwritten
    assert p.data is target and p.dtype == dtype
    np.testing.assert_array_equal(p.data, expected)


@pytest.mark.skipif(not _blas.available, reason="this NumPy has no bundled OpenBLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_sgd_step_by_blas_is_w_minus_lr_times_g_to_within_one_unit_in_the_last_place(dtype,
                                                                                          monkeypatch) -> None:
    from chainrule.optim import BLAS_MIN_SIZE

    calls = []

    def spy(alpha, x, y):
        done = _blas.axpy(alpha, x, y)
        calls.append((alpha, done))
        return done

    monkeypatch.setattr(optim, "axpy", spy)
    rng = np.random.default_rng(6)
    shape = (3, BLAS_MIN_SIZE // 2 + 13)  # large enough for axpy, with a tail past any SIMD width
    p = cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    target = p.data
    opt = optim.SGD([p], lr=0.05)
    lr = float(dtype(0.05))  # the rate as the BLAS routine receives it
    for _ in range(3):
        before = p.data.copy()
        g = rng.standard_normal(shape).astype(dtype)
        p.grad = cr.tensor(g)
        opt.step()
        exact = before.astype(np.longdouble) - np.longdouble(lr) * g.astype(np.longdouble)
        ulp = np.spacing((np.abs(before) + np.abs(lr * g)).astype(dtype))  # one unit in the last place of |w| + |ηg|
        assert np.all(np.abs(p.data - exact) <= ulp)
        assert not np.array_equal(p.data, before)  # it did move
        np.testing.assert_array_equal(p.grad.data, g)  # the gradient is read, never overwritten
    assert p.data is target and p.dtype == dtype
    assert calls == [(-0.05, True)] * 3  # each step went by BLAS


def test_adam_updates_parameters_large_enough_for_blas_like_the_formula() -> None:
    from chainrule.optim import BLAS_MIN_SIZE

    rng = np.random.default_rng(4)
    w0, g = rng.standard_normal(BLAS_MIN_SIZE + 5), rng.standard_normal(BLAS_MIN_SIZE + 5)
    p = cr.tensor(w0, requires_grad=True)
    opt = optim.Adam([p], lr=0.01, weight_decay=0.1)
    p.grad = cr.tensor(g)
    opt.step()
    decayed = g + 0.1 * w0
    m, v = 0.1 * decayed, 0.001 * decayed**2
    expected = w0 - 0.01 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_sgd_updates_a_zero_dimensional_parameter_in_place(momentum) -> None:
    p = cr.tensor(3.0, requires_grad=True)  # held as a NumPy scalar until its array is needed
    (p * p).backward()
    optim.SGD([p], lr=0.1, momentum=momentum).step()
    assert p.item() == pytest.approx(3.0 - 0.1 * 6.0)
    assert p.data.shape == ()


@pytest.mark.parametrize("options", [{}, {"alpha": 0.9, "eps": 1e-6}, {"weight_decay": 0.05}, {"momentum": 0.8}])
def test_rmsprop_matches_torch_over_several_steps(torch, options) -> None:
    _compare_with_torch(torch, lambda ps: optim.RMSprop(ps, lr=0.01, **options),
                        lambda ps: torch.optim.RMSprop(ps, lr=0.01, **options))


def test_rmsprop_step_divides_the_gradient_by_the_root_of_its_running_square() -> None:
    p = cr.tensor([2.0, -1.0], requires_grad=True)
    p.grad = cr.tensor([4.0, -0.5])
    optim.RMSprop([p], lr=0.1, alpha=0.75, eps=0.0).step()
    s = 0.25 * np.array([16.0, 0.25])
    np.testing.assert_allclose(p.data, [2.0, -1.0] - 0.1 * np.array([4.0, -0.5]) / np.sqrt(s))


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_state_dict_round_trip_continues_the_run_exactly(name) -> None:
    rng = np.random.default_rng(8)
    w0, grads = rng.normal(size=(3, 2)), rng.normal(size=(4, 3, 2))
    p, q = cr.tensor(w0.copy(), requires_grad=True), cr.tensor(w0.copy(), requires_grad=True)
    first = optim.OPTIMIZERS[name]([p])
    for g in grads[:2]:
        p.grad = cr.tensor(g)
        first.step()
    q.data[...] = p.data
    second = optim.OPTIMIZERS[name]([q], lr=123.0)  # the saved hyper-parameters replace these
    second.load_state_dict(first.state_dict())
    assert second.lr == first.lr
    for g in grads[2:]:
        p.grad, q.grad = cr.tensor(g), cr.tensor(g)
        first.step()
        second.step()
    np.testing.assert_array_equal(q.data, p.data)


def test_state_dict_is_a_copy_and_hyperparameters_are_read_at_every_step() -> None:
    p = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    p.grad = cr.tensor([1.0])
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0] == {"lr": 0.1, "momentum": 0.5, "nesterov": False, "weight_decay": 0.0,
                                        "params": [0]}
    saved["state"][0]["velocity"][0] = 99.0
    assert opt.state[0]["velocity"][0] == 1.0
    opt.lr = 1.0  # changed between steps: the next step uses it
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 - 1.5])


def test_load_state_dict_refuses_a_state_for_other_parameters() -> None:
    opt = optim.Adam([cr.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="1 parameters"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_every_registered_optimizer_builds_from_its_defaults_and_descends_a_quadratic() -> None:
    for name, spec in optim.OPTIMIZERS.items():
        assert spec.name == name and spec.label and spec.defaults["lr"] > 0
        p = cr.tensor([1.0, -2.0], requires_grad=True)
        opt = spec([p])
        assert opt.lr == spec.defaults["lr"]
        for _ in range(20):
            opt.zero_grad()
            _quadratic_step(p, np.zeros(2))
            opt.step()
        assert np.sum(p.data**2) < 5.0, name


def test_registry_settings_override_defaults_and_unknown_names_are_refused() -> None:
    p = cr.tensor([1.0], requires_grad=True)
    opt = optim.OPTIMIZERS["momentum"]([p], lr=0.2, momentum=None)
    assert isinstance(opt, optim.SGD) and opt.lr == 0.2 and opt.momentum == 0.9
    assert optim.OPTIMIZERS["rmsprop"].accepts("momentum") and not optim.OPTIMIZERS["adam"].accepts("momentum")
    with pytest.raises(ValueError, match="unknown optimizer 'lion'; choose one of sgd, momentum, adam, rmsprop"):
        optim.get_optimizer("lion")


@pytest.mark.skipif(not _blas.available, reason="this NumPy has no bundled OpenBLAS")
@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 3 * optim.BLAS_MIN_SIZE), lr=st.floats(1e-4, 10.0), seed=st.integers(0, 2**16),
       double=st.booleans())
def test_descend_fast_path_equals_the_plain_numpy_line_to_a_few_ulp(size, lr, seed, double) -> None:
    dtype = np.float64 if double else np.float32
    rng = np.random.default_rng(seed)
    w0, d = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
    plain = w0.copy()
    plain -= d * dtype(lr)
    p = cr.tensor(w0.copy(), requires_grad=True)
    optim.descend_(p, float(dtype(lr)), d)
    ulp = np.spacing((np.abs(w0) + np.abs(d * dtype(lr))).astype(dtype))
    assert np.all(np.abs(p.data.astype(np.float64) - plain) <= 2 * ulp)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_a_step_marks_parameters_modified_so_a_stale_graph_refuses_to_run(name) -> None:
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    stale = (p * p).sum()  # saved the old w
    p.grad = cr.tensor([1.0, 1.0])
    optim.OPTIMIZERS[name]([p]).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()
