"""The command line refuses, before any work and in one line, outputs it cannot write, jobs that cannot fit in
memory and arguments that are not text (issue 14)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chainrule import cli, limits

WORK = {  # what each command would start; the tests make sure none of it runs
    "train": ("chainrule.train", "run"),
    "sweep": ("chainrule.sweep", "run_sweep"),
    "naive": ("chainrule.explain.naive", "compare_naive"),
    "modes": ("chainrule.explain.modes", "compare_modes_report"),
    "explain": ("chainrule.explain", "explain"),
}


@pytest.fixture
def no_work(monkeypatch) -> list[str]:
    """Replace every command's real work by a recorder, so a test sees whether the command got that far."""
    import importlib

    started: list[str] = []
    for name, (module, function) in WORK.items():
        def record(*args, _name=name, **kwargs):
            started.append(_name)
            raise SystemExit(0)
        monkeypatch.setattr(importlib.import_module(module), function, record)
    return started


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = cli.main(argv)
    except SystemExit as exit_:  # the recorder: the command reached its work
        status = int(exit_.code or 0)
    err = capsys.readouterr().err
    return status, err


def _assert_one_line_refusal(status: int, err: str, match: str) -> None:
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]


@pytest.fixture
def odd_places(tmp_path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "run" / "model.npz").mkdir(parents=True)
    (tmp_path / "run" / "sweep.csv").mkdir()
    (tmp_path / "run" / "naive.png").mkdir()
    (tmp_path / "run" / "modes.csv").mkdir()
    return {"proc": "/proc/chainrule-x", "file": str(tmp_path / "a-file"), "null": "/dev/null",
            "folder-named-like-a-file": str(tmp_path / "run"), "name-too-long": str(tmp_path / ("a" * 300)),
            "under-a-file": str(tmp_path / "a-file" / "sub")}


FOLDER_COMMANDS = {
    "train": ["train", "xor", "--out"],
    "demo": ["demo", "--out"],
    "sweep": ["sweep", "xor", "--out"],
    "compare naive": ["compare", "naive", "--out"],
    "compare modes": ["compare", "modes", "--out"],
}


@pytest.mark.parametrize("place", ["proc", "file", "null", "folder-named-like-a-file", "name-too-long",
                                   "under-a-file"])
@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
def test_an_unusable_output_folder_is_refused_before_any_work(command, place, odd_places, no_work, capsys) -> None:
    status, err = _run([*FOLDER_COMMANDS[command], odd_places[place]], capsys)
    _assert_one_line_refusal(status, err, "")
    assert no_work == []
    assert any(word in err for word in ("cannot write", "not a folder", "is a folder", "cannot use"))


FILE_COMMANDS = {
    "explain": ["explain", "--sizes", "2", "2", "--out"],
    "graph": ["graph", "x*x", "--at", "x=1", "--out"],
    "chain": ["chain", "x*x", "--at", "x=1", "--graph"],
}


@pytest.mark.parametrize("place", ["proc", "null", "folder-named-like-a-file", "name-too-long", "under-a-file"])
@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_an_unusable_output_file_is_refused_before_any_work(command, place, odd_places, no_work, capsys) -> None:
    path = odd_places[place] + (".svg" if place == "proc" else "")
    status, err = _run([*FILE_COMMANDS[command], path], capsys)
    _assert_one_line_refusal(status, err, "")
    assert no_work == []
    assert "/dev/null" not in err or "not a regular file" in err
    assert Path("/dev/null").is_char_device()


def test_writing_to_dev_null_never_replaces_the_device(no_work, capsys) -> None:
    status, err = _run(["graph", "x", "--at", "x=1", "--out", "/dev/null"], capsys)
    _assert_one_line_refusal(status, err, "not a regular file")
    assert Path("/dev/null").is_char_device()


TOO_BIG = {
    "hidden": ["train", "xor", "--hidden", "100000", "100000"],
    "samples": ["train", "circles", "--samples", "10000000000"],
    "demo-hidden": ["demo", "--hidden", "1000000000"],
    "sweep-hidden": ["sweep", "xor", "--hidden", "100000,100000"],
    "modes-batch": ["compare", "modes", "--batch", "100000000"],
    "naive-sizes": ["compare", "naive", "--sizes", "100000", "100000"],
    "explain-sizes": ["explain", "--sizes", "100000", "100000"],
}


@pytest.mark.parametrize("case", list(TOO_BIG))
def test_sizes_that_cannot_fit_are_refused_up_front_with_the_memory_they_need(case, tmp_path, no_work,
                                                                              capsys) -> None:
    status, err = _run([*TOO_BIG[case], *([] if case == "explain-sizes" else ["--out", str(tmp_path / "o")])],
                       capsys)
    _assert_one_line_refusal(status, err, "would need about")
    assert "GiB" in err or "TiB" in err
    assert no_work == []
    assert list(tmp_path.iterdir()) == []  # the refused command left no empty output folder behind


def test_max_memory_raises_the_cap_but_never_above_what_is_available(monkeypatch, tmp_path, no_work,
                                                                     capsys) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 2**30)
    argv = ["train", "digits", "--hidden", "100000", "--out", str(tmp_path / "o")]  # about 4.3 GiB
    _assert_one_line_refusal(*_run(argv, capsys), "above the default cap of 2 GiB")
    assert _run([*argv, "--max-memory", "8G"], capsys)[0] == 0 and no_work == ["train"]
    monkeypatch.setattr(limits, "available_memory", lambda: 3 * 2**30)
    _assert_one_line_refusal(*_run([*argv, "--max-memory", "8G"], capsys), "of memory available")


def test_a_malformed_max_memory_is_one_line() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected a size"):
        limits.parse_size("12 parsecs")
    assert limits.parse_size("1.5G") == 3 * 2**29 and limits.parse_size("512M") == 2**29


def test_every_command_that_takes_sizes_has_the_memory_flag_and_a_check() -> None:
    parser = cli.build_parser()
    sized = {"--hidden", "--samples", "--batch", "--batch-size", "--sizes"}
    found = []

    def walk(p: argparse.ArgumentParser, name: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}".strip())
        options = {o for action in p._actions for o in action.option_strings}
        if options & sized:
            found.append(name)
            assert "--max-memory" in options, f"chainrule {name} takes sizes but has no --max-memory"

    walk(parser, "")
    assert {"train", "demo", "sweep", "explain", "compare naive", "compare modes"} <= set(found)


def test_an_argument_that_is_not_utf8_gets_one_line(capsys) -> None:
    status, err = _run(["train", "xor\udcff", "--out", "x"], capsys)
    _assert_one_line_refusal(status, err, "argument 2 is not valid UTF-8: b'xor\\xff'")


def test_a_usable_output_folder_passes_and_leaves_nothing_behind(tmp_path) -> None:
    """Neither the probe file nor the folders made to hold it: the writers create their folders themselves."""
    from chainrule.files import check_output_file, check_output_folder

    check_output_folder(tmp_path / "new" / "deeper", limits.TRAINING_FILES)
    check_output_file(tmp_path / "other" / "picture.png")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_output_folder(tmp_path / "kept" / "inner")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and list((tmp_path / "kept").iterdir()) == []
