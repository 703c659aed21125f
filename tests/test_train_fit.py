"""fit(): the quality bars of the networks issue (XOR, spirals, digits), history, callbacks, NaN and plateaus."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import data, nn, optim, train
from chainrule.diagnose import Target, diagnose


def _xor_net(hidden: int, seed: int) -> nn.MLP:
    return nn.MLP([2, hidden, 1], activation="sigmoid", output_activation="sigmoid", rng=seed)


def test_xor_2_4_1_learns_for_ten_seeds_out_of_ten_within_10000_epochs() -> None:
    X, y = data.xor()
    epochs_needed = []
    for seed in range(10):
        model = _xor_net(4, seed)
        history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=1.0), (X, y), epochs=10_000,
                            callbacks=[train.target_reached(accuracy=1.0, loss=0.05)])
        assert history.stopped_reason == "callback", f"seed {seed}: {history.messages}"
        assert train.evaluate(model, "half_sum", X, y) == (pytest.approx(history.train_loss[-1]), 1.0)
        epochs_needed.append(history.epochs)
    assert max(epochs_needed) < 10_000


def test_xor_2_2_1_learns_for_most_seeds_and_the_diagnosis_of_the_rest_is_a_plateau_never_a_local_minimum() -> None:
    X, y = data.xor()
    learned, stuck = [], []
    for seed in range(10):
        model = _xor_net(2, seed)
        history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=2.0), (X, y), epochs=5000,
                            callbacks=[train.target_reached(1.0), train.stop_on_plateau(window=300)])
        if history.train_acc[-1] == 1.0:
            learned.append(seed)
        else:
            stuck.append(seed)
            assert history.plateau and history.stopped_reason == "plateau"
            [message] = history.messages
            assert "below 100% accuracy" in message and "local minimum" not in message
            found = diagnose(model, "half_sum", (X, y), history, 2.0, Target("train_acc", 1.0))
            assert found.verdict in ("saturated plateau", "plateau"), found.message
    assert 6 <= len(learned) <= 9, (learned, stuck)  # "about 4 in 5"
    assert stuck, "some seeds should stop on a plateau"


def test_a_plateau_is_reported_at_the_end_of_a_run_that_did_not_stop_early() -> None:
    X, y = data.xor()
    model = _xor_net(2, seed=0)  # a seed that stops on a saturated plateau
    history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=2.0), (X, y), epochs=2000)
    assert history.stopped_reason == "completed" and history.epochs == 2000
    assert history.plateau and "levelled off below 100%" in history.messages[-1]


def test_no_plateau_is_reported_once_accuracy_is_100_percent() -> None:
    X, y = data.xor()
    model = _xor_net(4, seed=0)
    history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=2.0), (X, y), epochs=1000)
    assert history.train_acc[-1] == 1.0 and not history.plateau and history.messages == []


def test_spirals_reach_95_percent_train_accuracy_with_tanh_hidden_layers() -> None:
    X, y = data.spirals(n=200, noise=0.1, seed=0)
    model = nn.MLP([2, 16, 16, 1], activation="tanh", output_activation="sigmoid", rng=0)
    history = train.fit(model, "mse", optim.Adam(model.parameters(), lr=0.02), (X, y), epochs=3000,
                        callbacks=[train.target_reached(accuracy=0.98)])
    assert train.evaluate(model, "mse", X, y)[1] >= 0.95, history.train_acc[-1]


def test_spirals_reach_95_percent_train_accuracy_with_relu_hidden_layers() -> None:
    X, y = data.spirals(n=200, noise=0.1, seed=1)
    model = nn.MLP([2, 32, 32, 2], activation="relu", rng=1)
    train.fit(model, "ce", optim.Adam(model.parameters(), lr=0.01), (X, y), epochs=3000,
              callbacks=[train.target_reached(accuracy=0.98)])
    assert train.evaluate(model, "ce", X, y)[1] >= 0.95


def test_digits_64_128_10_reach_95_percent_test_accuracy_on_a_seeded_80_20_split() -> None:
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    model = nn.MLP([64, 128, 10], activation="sigmoid", rng=0)
    history = train.fit(model, "ce", optim.Adam(model.parameters(), lr=0.01), (X_train, y_train), epochs=6,
                        batch_size=32, test_data=(X_test, y_test), seed=0)
    assert history.test_acc[-1] >= 0.95
    assert len(history.test_loss) == len(history.train_loss) == 7


def test_history_holds_one_entry_per_epoch_plus_the_start_and_loss_falls() -> None:
    X, y = data.moons(n=60, noise=0.1, seed=0)
    model = nn.MLP([2, 6, 1], activation="tanh", output_activation="sigmoid", rng=0)
    history = train.fit(model, "bce", optim.SGD(model.parameters(), lr=0.5, momentum=0.9), (X, y), epochs=40,
                        batch_size=16, test_data=(X[:10], y[:10]))
    assert history.epochs == 40
    assert len(history.train_loss) == len(history.train_acc) == len(history.test_acc) == len(history.lr) == 41
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.train_loss[-1] == pytest.approx(train.evaluate(model, "bce", X, y)[0])


def test_mini_batch_training_repeats_exactly_with_the_same_seed() -> None:
    X, y = data.gaussians(n=40, noise=0.8, seed=0)
    losses = []
    for _ in range(2):
        model = nn.MLP([2, 3, 1], output_activation="sigmoid", rng=0)
        losses.append(train.fit(model, "mse", optim.SGD(model.parameters(), lr=0.5), (X, y), epochs=5,
                                batch_size=8, seed=7).train_loss)
    assert losses[0] == losses[1]


def test_a_scheduler_sets_the_learning_rate_each_epoch() -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    history = train.fit(model, "half_sum", optimizer, (X, y), epochs=4, scheduler=optim.StepLR(optimizer, 2, 0.5))
    assert history.lr == [1.0, 1.0, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("batch_size", [None, 10])
def test_a_nan_loss_stops_training_suggests_a_smaller_rate_and_keeps_finite_parameters(batch_size) -> None:
    X, y = data.moons(n=50, noise=0.1, seed=0)
    model = nn.MLP([2, 16, 1], activation="relu", rng=0)  # linear output: nothing bounds the steps
    history = train.fit(model, "mse", optim.SGD(model.parameters(), lr=50.0), (X, y), epochs=200,
                        batch_size=batch_size)
    assert history.stopped_reason == "non-finite loss"
    assert "smaller learning rate" in history.messages[0] and "it was 50" in history.messages[0]
    assert history.epochs < 200
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert np.isfinite(train.evaluate(model, "mse", X, y)[0])
    assert all(np.isfinite(history.train_loss))
    if batch_size is None:  # full batch: the kept parameters are exactly those of the last recorded loss
        assert train.evaluate(model, "mse", X, y)[0] == pytest.approx(history.train_loss[-1])


def test_an_interrupt_ends_training_quietly_with_the_last_complete_parameters() -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)

    def press_ctrl_c(epoch: int, history: train.History) -> None:
        if epoch == 5:
            raise KeyboardInterrupt

    history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=0.5), (X, y), 100,
                        callbacks=[press_ctrl_c])
    assert history.stopped_reason == "interrupted" and history.epochs == 5
    assert train.evaluate(model, "half_sum", X, y)[0] == pytest.approx(history.train_loss[-1])


def test_a_callback_returning_true_stops_training_and_sees_the_history() -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)
    seen = []

    def stop_after_three(epoch: int, history: train.History) -> bool:
        seen.append((epoch, len(history.train_loss)))
        return epoch == 3

    history = train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=0.5), (X, y), 100,
                        callbacks=[stop_after_three])
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert history.stopped_reason == "callback" and history.epochs == 3


def test_progress_is_quiet_when_output_is_not_a_terminal(capsys) -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)
    train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=0.5), (X, y), 20)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_shows_a_bar_when_asked(capsys) -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)
    train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=0.5), (X, y), 20, progress=True)
    assert "20/20" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch_size"),
     ({"train_data": (np.zeros((3, 2)), np.zeros(4))}, "3 rows in X but 4 targets")],
)
def test_bad_fit_arguments_are_refused(options, message: str) -> None:
    X, y = data.xor()
    model = _xor_net(2, 1)
    arguments = {"train_data": (X, y), "epochs": 5} | options
    with pytest.raises(ValueError, match=message):
        train.fit(model, "half_sum", optim.SGD(model.parameters(), lr=0.5), **arguments)
