"""The `chainrule train`, `predict` and `demo` commands: their files, their output and their errors."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import cli, io
from chainrule.viz import plots


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def assert_is_a_real_picture(path: Path, size: tuple[int, int]) -> None:
    import matplotlib.image

    assert png_size(path) == size
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (size[1], size[0])
    assert pixels[..., :3].std() > 0.05  # not a blank canvas


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("xor")
    status = cli.main(["train", "xor", "--hidden", "3", "--lr", "2", "--epochs", "600", "--out", str(out)])
    assert status == 0
    return out, ""


def test_demo_trains_xor_prints_four_predictions_and_where_the_pictures_are(tmp_path, capsys) -> None:
    status, out, _ = run(["demo", "--lr", "2", "--epochs", "600", "--out", str(tmp_path)], capsys)
    assert status == 0
    rows = [line.split() for line in out.splitlines() if line.strip().endswith(("right", "WRONG"))]
    assert [row[:3] for row in rows] == [["0", "0", "0"], ["0", "1", "1"], ["1", "0", "1"], ["1", "1", "0"]]
    assert all(row[-1] == "right" for row in rows)
    assert "2-2-1" in out and "½Σ(t − y)²" in out and "accuracy 100%" in out
    for name in ("loss.png", "boundary.png", "model.npz"):
        assert str(tmp_path / name) in out
    assert_is_a_real_picture(tmp_path / "loss.png", plots.HISTORY_PIXELS)
    assert_is_a_real_picture(tmp_path / "boundary.png", plots.BOUNDARY_PIXELS)


def test_demo_on_a_seed_that_stalls_names_a_plateau_not_a_local_minimum(tmp_path, capsys) -> None:
    status, out, _ = run(["demo", "--seed", "0", "--lr", "2", "--epochs", "1000", "--out", str(tmp_path)], capsys)
    assert status == 0
    assert "WRONG" in out and "local minimum" not in out.replace("no local minimum", "")
    assert "diagnosis: stuck on a saturated plateau" in out and "more hidden units" in out


def test_demo_with_a_small_learning_rate_says_more_epochs_or_a_larger_rate(tmp_path, capsys) -> None:
    status, out, _ = run(["demo", "--lr", "0.05", "--out", str(tmp_path)], capsys)
    assert status == 0 and "diagnosis: still moving on a plateau" in out and "larger η" in out


def test_demo_with_a_huge_learning_rate_says_it_is_too_large_and_suggests_one(tmp_path, capsys) -> None:
    status, out, _ = run(["demo", "--lr", "100", "--epochs", "1000", "--out", str(tmp_path)], capsys)
    assert status == 0 and "learning rate is too large (η = 100)" in out and "2/λ_max" in out


@pytest.mark.parametrize("loss", ["half_sum", "mse", "bce", "bce_logits", "ce"])
def test_demo_prints_the_right_class_for_every_cost(loss, tmp_path, capsys) -> None:
    status, out, _ = run(["demo", "--loss", loss, "--lr", "2", "--epochs", "300", "--out", str(tmp_path)], capsys)
    rows = [line.replace(",", " ").split() for line in out.splitlines() if line.strip().endswith(("right", "WRONG"))]
    assert status == 0 and len(rows) == 4
    threshold = 0.0 if loss == "bce_logits" else 0.5
    for _x1, _x2, target, *outputs, label, verdict in rows:
        values = [float(v) for v in outputs]
        expected = int(np.argmax(values)) if loss == "ce" else int(values[0] > threshold)
        assert (len(values) == 2) == (loss == "ce")
        assert int(label) == expected and verdict == ("right" if expected == int(target) else "WRONG")
    accuracy = sum(row[-1] == "right" for row in rows) / 4
    assert f"accuracy {accuracy:.0%}" in out


def test_demo_with_other_settings_writes_its_own_folder_and_keeps_runs_demo(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["demo", "--epochs", "200"], capsys)[0] == 0
    assert run(["demo", "--lr", "2", "--loss", "bce", "--seed", "0", "--epochs", "200"], capsys)[0] == 0
    assert not (tmp_path / "runs/demo").exists()  # only the default settings write there
    assert io.metadata(tmp_path / "runs/demo-lr2-bce-epochs200-seed0/model.npz")["loss"] == "bce"
    assert io.metadata(tmp_path / "runs/demo-epochs200/model.npz")["loss"] == "half_sum"


def test_predict_accepts_negative_coordinates(xor_run, capsys) -> None:
    out, _ = xor_run
    status, text, err = run(["predict", str(out / "model.npz"), "-1,0", "0.5,-0.5"], capsys)
    assert status == 0, err
    rows = [line.split() for line in text.splitlines()[1:]]
    assert [row[:2] for row in rows] == [["-1,", "0"], ["0.5,", "-0.5"]]


def test_train_writes_model_metrics_and_pictures_and_prints_accuracy(xor_run, capsys) -> None:
    out, _ = xor_run
    assert sorted(p.name for p in out.iterdir()) == ["boundary.png", "loss.png", "metrics.json", "model.npz"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["hidden"] == [3] and metrics["settings"]["lr"] == 2.0
    assert len(metrics["history"]["train_loss"]) == metrics["history"]["epochs"] + 1 == 601
    assert metrics["final"]["train_acc"] == 1.0 and metrics["final"]["test_acc"] is None
    assert io.load(out / "model.npz").sizes == [2, 3, 1]


def test_train_with_a_test_split_reports_both_accuracies(tmp_path, capsys) -> None:
    status, out, _ = run(["train", "moons", "--samples", "80", "--hidden", "6", "--activation", "tanh",
                          "--optimizer", "adam", "--lr", "0.05", "--epochs", "150", "--out", str(tmp_path)], capsys)
    assert status == 0
    train_line = next(line for line in out.splitlines() if line.startswith("train accuracy"))
    test_line = next(line for line in out.splitlines() if line.startswith("test accuracy"))
    assert "(64/64)" in train_line or "/64)" in train_line
    assert "/16)" in test_line
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data"]["test_examples"] == 16
    assert float(train_line.split()[2].rstrip("%")) == pytest.approx(100 * metrics["final"]["train_acc"], abs=0.01)


def test_predict_evaluates_a_saved_model(xor_run, capsys) -> None:
    out, _ = xor_run
    status, text, _ = run(["predict", str(out / "model.npz"), "0,0", "0,1", "1,0", "1,1"], capsys)
    assert status == 0
    classes = [line.split()[-1] for line in text.splitlines()[1:]]
    assert classes == ["0", "1", "1", "0"]
    status, single, _ = run(["predict", str(out / "model.npz"), "0", "1"], capsys)
    assert status == 0 and single.splitlines()[1].split()[-1] == "1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "mnist"], "unknown data set 'mnist'"),
        (["train", "xor", "--lr", "-1"], "learning rate must be a positive number"),
        (["train", "xor", "--hidden", "0"], "--hidden must be at least 1"),
        (["train", "xor", "--optimizer", "lion"], "unknown optimizer 'lion'"),
        (["train", "xor", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["train", "xor", "--optimizer", "adam", "--momentum", "0.9"], "momentum applies to the sgd optimizer"),
        (["train", "gaussians", "--loss", "bce", "--epochs", "1", "--noise", "-2"], "noise"),
        (["demo", "--loss", "hinge"], "unknown loss 'hinge'"),
        (["predict", "missing.npz", "0,1"], "no such model file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(argv, message, capsys, tmp_path) -> None:
    status, _out, err = run([*argv, "--out", str(tmp_path)] if argv[0] != "predict" else argv, capsys)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_predict_with_the_wrong_number_of_inputs_exits_2(xor_run, capsys) -> None:
    out, _ = xor_run
    status, _, err = run(["predict", str(out / "model.npz"), "0,1,1"], capsys)
    assert status == 2 and "the model takes 2" in err


def test_a_truncated_model_file_exits_2_with_a_clear_message_and_no_traceback(xor_run, tmp_path) -> None:
    out, _ = xor_run
    content = (out / "model.npz").read_bytes()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(content[: len(content) // 3])
    result = subprocess.run([sys.executable, "-m", "chainrule.cli", "predict", str(broken), "0,1"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "truncated or corrupt" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_has_help_with_an_example(capsys) -> None:
    for command in ("train", "predict", "demo"):
        with pytest.raises(SystemExit) as exit_:
            cli.build_parser().parse_args([command, "--help"])
        assert exit_.value.code == 0
        assert "example:" in capsys.readouterr().out


def test_plots_draw_pictures_of_the_documented_size(tmp_path) -> None:
    from chainrule import data, nn, optim, train

    X, y = data.gaussians(n=60, noise=0.6, seed=0, classes=3)
    model = nn.MLP([2, 5, 3], activation="tanh", rng=0)
    history = train.fit(model, "ce", optim.Adam(model.parameters(), lr=0.05), (X, y), 30, test_data=(X, y))
    assert_is_a_real_picture(plots.plot_history(history, tmp_path / "h.png"), plots.HISTORY_PIXELS)
    boundary = plots.plot_decision_boundary(model, X, y, tmp_path / "b.png")
    assert_is_a_real_picture(boundary, plots.BOUNDARY_PIXELS)
    with pytest.raises(ValueError, match="2-D inputs"):
        plots.plot_decision_boundary(model, np.zeros((3, 4)), np.zeros(3), tmp_path / "x.png")


def test_predict_computes_the_input_features_of_a_playground_model_from_points(tmp_path, capsys) -> None:
    """A playground network on (x₁², x₂², sin x₁) takes points x₁,x₂ in `predict`, as in the playground."""
    from chainrule.data import feature_matrix
    from chainrule.web.config import parse_config
    from chainrule.web.playground import Playground

    playground = Playground(parse_config({"dataset": "circles", "features": ["x1sq", "x2sq", "sin_x1"],
                                          "hidden": [3]}))
    path = tmp_path / "model.npz"
    path.write_bytes(playground.model_file())
    points = np.array([[0.5, -1.0], [-2.0, 0.25]])
    status, text, _ = run(["predict", str(path), "0.5,-1", "-2,0.25"], capsys)
    assert status == 0 and "features x₁², x₂², sin x₁ of a point" in text
    expected = playground.model(feature_matrix(points, ("x1sq", "x2sq", "sin_x1"))).data.reshape(2, -1)
    printed = [line.split()[2:-1] for line in text.splitlines()[2:]]
    np.testing.assert_allclose([[float(v.rstrip(",")) for v in row] for row in printed], expected, rtol=1e-7)
    assert run(["predict", str(path), "1,2,3"], capsys)[0] == 2  # a point is two numbers, not three features


def test_predict_refuses_a_model_file_whose_features_do_not_fit_its_network(tmp_path, capsys) -> None:
    from chainrule.nn import MLP

    path = io.save(MLP([3, 2, 1], rng=0), tmp_path / "m.npz", metadata={"features": ["x1", "x2"]})
    status, _, err = run(["predict", str(path), "1,2"], capsys)
    assert status == 2 and "input features ['x1', 'x2'] are not 3 of" in err and err.count("\n") == 1
