"""`chainrule train --resume DIR` with a hand-edited or hostile metrics.json: one clear line naming the field,
never a traceback from deep inside training (issue 14)."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from chainrule.cli import main


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run") / "xor"
    assert main(["train", "xor", "--epochs", "3", "--out", str(folder)]) == 0
    return folder


def _set(path: str, value):
    def change(metrics: dict) -> None:
        *parents, key = path.split(".")
        target = metrics
        for name in parents:
            target = target[name]
        target[key] = value
    return change


CASES = [
    ("seed-infinity", _set("settings.seed", "INFINITY"), "settings say seed = inf; expected int"),
    ("lr-as-text", _set("settings.lr", "abc"), "settings say lr = 'abc'; expected float | None"),
    ("hidden-as-text", _set("settings.hidden", ["8"]), r"settings say hidden = \['8'\]"),
    ("history-a-list", _set("history", [1]), "has no history object"),
    ("no-settings", lambda metrics: metrics.pop("settings"), "has no settings object"),
    ("losses-as-text", _set("history.train_loss", ["x"]), "history say train_loss"),
    ("shuffle-state-garbage", _set("history.shuffle_state", {"bit_generator": "nope"}), "shuffle_state that is no"),
    ("not-an-object", lambda metrics: metrics.clear(), "has no settings object"),
]


@pytest.mark.parametrize("change, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_hostile_metrics_file_is_one_clear_line(finished_run, tmp_path, capsys, change, message) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(finished_run, folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    change(metrics)
    text = json.dumps(metrics).replace('"INFINITY"', "Infinity")
    (folder / "metrics.json").write_text(text if metrics else "[]", encoding="utf-8")
    capsys.readouterr()
    assert main(["train", "--resume", str(folder), "--epochs", "6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"--resume {folder}: " in err
    assert re.search(message, err), err


def test_an_unknown_setting_is_ignored_and_the_run_resumes(finished_run, tmp_path, capsys) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(finished_run, folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    metrics["settings"]["from_a_newer_chainrule"] = 1
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert main(["train", "--resume", str(folder), "--epochs", "6"]) == 0
