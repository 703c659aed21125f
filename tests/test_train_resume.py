"""`chainrule train --resume DIR` continues a run where it stopped: the result equals a run never stopped."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.cli import main


def _weights(path):
    return [p.data for p in cr.load(path).parameters()]


@pytest.mark.parametrize("options", [["--optimizer", "adam", "--batch-size", "16"],
                                     ["--optimizer", "sgd", "--momentum", "0.9"]])
def test_fifteen_epochs_then_resumed_to_forty_equal_forty(tmp_path, capsys, options):
    base = ["train", "moons", "--samples", "120", *options]
    assert main([*base, "--epochs", "15", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", "--resume", str(tmp_path / "a"), "--epochs", "40"]) == 0
    assert "resumed" in capsys.readouterr().out
    assert main([*base, "--epochs", "40", "--out", str(tmp_path / "b")]) == 0
    for p, q in zip(_weights(tmp_path / "a" / "model.npz"), _weights(tmp_path / "b" / "model.npz")):
        np.testing.assert_array_equal(p, q)
    ha, hb = (json.loads((tmp_path / d / "metrics.json").read_text())["history"] for d in "ab")
    assert ha["train_loss"] == hb["train_loss"] and ha["epochs"] == 40


def test_an_interrupted_fit_continues_exactly_from_its_shuffle_state():
    X, y = data.moons(n=80, noise=0.2, seed=1)

    def fresh():
        model = nn.MLP([2, 6, 1], activation="tanh", output_activation="sigmoid", rng=3)
        return model, optim.Adam(model.parameters(), lr=0.05)

    def stop_at_7(epoch, history):
        if epoch == 7:
            raise KeyboardInterrupt
    model, opt = fresh()
    first = train.fit(model, "mse", opt, (X, y), 20, batch_size=8, callbacks=[stop_at_7], seed=0)
    assert first.stopped_reason == "interrupted" and first.epochs == 7
    rng = np.random.default_rng()
    rng.bit_generator.state = first.shuffle_state
    train.fit(model, "mse", opt, (X, y), 13, batch_size=8, seed=rng)
    whole_model, whole_opt = fresh()
    train.fit(whole_model, "mse", whole_opt, (X, y), 20, batch_size=8, seed=0)
    for p, q in zip(model.parameters(), whole_model.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def test_resume_takes_the_runs_own_settings_and_needs_more_epochs(tmp_path, capsys):
    assert main(["train", "xor", "--epochs", "30", "--out", str(tmp_path / "x")]) == 0
    assert main(["train", "--resume", str(tmp_path / "x"), "--lr", "3"]) == 2
    assert "leave out lr" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "x")]) == 2
    assert "already trained 30 epochs" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 2
