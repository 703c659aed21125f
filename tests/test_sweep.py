"""`chainrule sweep` and chainrule.sweep: the vectorised seam equals the engine's trainer, the table, the files,
shared initial weights, bad input refused before training, and an interrupted sweep keeps what finished."""
from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import cli, sweep
from chainrule.data import xor
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.layers import MLP
from chainrule.optim import OPTIMIZERS
from chainrule.train import fit


@pytest.mark.parametrize("loss, optimizer, lr", [("mse", "sgd", 2.0), ("bce", "sgd", 0.5), ("ce", "momentum", 0.3),
                                                 ("half_sum", "adam", 0.05), ("bce_logits", "sgd", 0.5)])
def test_training_seeds_together_equals_training_each_with_the_engine(loss, optimizer, lr):
    X, y = xor()
    models = sweep._build_models([2, 3, 2 if loss == "ce" else 1], "sigmoid", loss, [0, 1, 2])
    together = sweep.train_seeds(models, loss, optimizer, lr, (X, y), 60)
    for s, model in enumerate(models):
        engine = MLP(model.sizes, output_activation=model.output_activation, rng=s)
        history = fit(engine, loss, OPTIMIZERS[optimizer](engine.parameters(), lr=lr), (X, y), 60, progress=False)
        np.testing.assert_allclose(together.train_loss[s], history.train_loss, rtol=1e-9, atol=1e-12)
        for p, value in zip(engine.parameters(), together.final[s]):
            np.testing.assert_allclose(p.data, value, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_of_the_registry_runs_in_a_sweep_as_the_engine_trainer_runs_it(name):
    X, y = xor()
    models = sweep._build_models([2, 3, 1], "tanh", "mse", [0, 1])
    together = sweep.train_seeds(models, "mse", name, 0.1, (X, y), 40)
    for s, model in enumerate(models):
        engine = MLP(model.sizes, activation="tanh", output_activation=model.output_activation, rng=s)
        history = fit(engine, "mse", OPTIMIZERS[name](engine.parameters(), lr=0.1), (X, y), 40, progress=False)
        np.testing.assert_allclose(together.train_loss[s], history.train_loss, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_of_the_registry_runs_in_a_sweep_as_the_engine_trainer_runs_it(activation):
    X, y = xor()
    models = sweep._build_models([2, 3, 1], activation, "bce", [0])
    together = sweep.train_seeds(models, "bce", "sgd", 0.5, (X, y), 30)
    engine = MLP(models[0].sizes, activation=activation, output_activation=models[0].output_activation, rng=0)
    history = fit(engine, "bce", OPTIMIZERS["sgd"](engine.parameters(), lr=0.5), (X, y), 30, progress=False)
    np.testing.assert_allclose(together.train_loss[0], history.train_loss, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "adam", "rmsprop"])
def test_a_stopped_network_keeps_its_parameters_while_the_optimizer_state_would_move_them(name):
    net = sweep._Batched(sweep._build_models([2, 3, 1], "tanh", "mse", [0, 1]))
    descent = sweep._Descent(name, 0.1, net)
    ones = [np.ones_like(p) for p in net.arrays()]
    descent.step(ones, np.array([True, True]))  # both move, and the optimiser's state is now non-zero
    before = [p.copy() for p in net.arrays()]
    descent.step([0 * g for g in ones], np.array([True, False]))
    for p, old in zip(net.arrays(), before):
        np.testing.assert_array_equal(p[1], old[1])  # stopped: not moved by momentum or running averages
        assert not np.array_equal(p[0], old[0]) or name != "momentum"


def test_runs_of_one_seed_start_from_the_same_weights_in_every_setting_of_an_architecture():
    X, y = xor()
    starts = {}
    for loss, lr in (("mse", 0.5), ("bce", 2.0), ("ce", 1.0)):
        outputs = 2 if loss == "ce" else 1
        models = sweep._build_models([2, 2, outputs], "sigmoid", loss, [3, 4])
        starts[loss] = sweep.train_seeds(models, loss, "sgd", lr, (X, y), 3).start
    for seed in (0, 1):
        for a, b in zip(starts["mse"][seed], starts["bce"][seed]):
            np.testing.assert_array_equal(a, b)
        # the ce network's extra output is drawn from the same seed stream: its hidden layer is the same
        np.testing.assert_array_equal(starts["ce"][seed][0], starts["mse"][seed][0])
    assert not np.array_equal(starts["mse"][0][0], starts["mse"][1][0])


def test_the_table_has_every_run_and_the_share_of_seeds_that_reached_the_target():
    result = sweep.run_sweep("xor", lrs=[0.05, 2.0], losses=["mse"], seeds=[0, 1, 2], epochs=1500)
    assert len(result.table()) == 6
    shares = {s["lr"]: s for s in result.shares()}
    slow = [r for r in result.runs if r.lr == 0.05]
    assert all(r.reached is None for r in slow) and shares[0.05]["reached"] == 0
    assert all(r.diagnosis.verdict == "plateau" for r in slow)  # small η: still moving, never "local minimum"
    fast = [r for r in result.runs if r.lr == 2.0]
    assert shares[2.0]["reached"] == sum(r.reached is not None for r in fast) >= 2
    assert "never" in result.text() and "share of seeds" in result.text()


def test_sweep_command_prints_the_table_and_writes_csv_json_and_a_picture(tmp_path, capsys):
    status = cli.main(["sweep", "xor", "--lr", "0.5", "2", "--loss", "mse", "bce", "--seed", "0", "1",
                       "--hidden", "2", "3", "--epochs", "300", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    content = json.loads((tmp_path / "sweep.json").read_text())
    assert content["runs_finished"] == content["runs_planned"] == 16
    assert len((tmp_path / "sweep.csv").read_text().splitlines()) == 17
    assert "2-2-1" not in out and "target: train accuracy ≥ 100%" in out


@pytest.mark.parametrize("argv, words", [
    (["--lr", "0"], "positive"), (["--lr", "-1"], "positive"), (["--loss", "hinge"], "unknown cost"),
    (["--seed", *map(str, range(200)), "--lr", "1", "2", "3"], "too many"), (["--hidden", "2,x"], "--hidden"),
    (["--optimizer", "adagrad"], "unknown optimizer"), (["--activation", "swish"], "unknown activation")])
def test_bad_sweep_input_is_one_line_and_exit_2_before_any_training(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "train_seeds", lambda *a, **k: pytest.fail("trained despite bad input"))
    status = cli.main(["sweep", "xor", *argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and words in err and len(err.strip().splitlines()) == 1


def test_an_interrupted_sweep_keeps_the_finished_runs_and_exits_non_zero(tmp_path, capsys, monkeypatch):
    real, calls = sweep.train_seeds, []

    def interrupt_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "train_seeds", interrupt_the_second)
    status = cli.main(["sweep", "xor", "--lr", "1", "2", "--seed", "0", "1", "--loss", "mse", "--epochs", "50",
                       "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 130 and "interrupted" in captured.err and "2 of 4" in captured.err
    assert json.loads((tmp_path / "sweep.json").read_text())["runs_finished"] == 2
