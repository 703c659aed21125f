"""The `chainrule` command as a whole (chainrule.cli): --version, help with an example for every command,
numbers that start with a minus sign read as numbers, and every kind of failure one line on stderr with exit
status 2 (bad input, a missing optional package, a file system refusal, out of memory) or 130 on Ctrl+C.
Each command's own behaviour is tested beside its module (test_train_cli.py, explain/test_network_cli.py, ...)."""
from __future__ import annotations

import sys

import pytest

import chainrule
from chainrule import cli
from chainrule.cli import UsageError, _parse_examples, _parse_point, build_parser, main, missing_extra_message

COMMANDS = ("train", "predict", "demo", "sweep", "explain", "chain", "graph", "compare", "serve", "export")


def test_version_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"


def test_a_missing_optional_package_names_the_extra_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "chainrule.viz.plots", raising=False)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails as if not installed
    assert main(["demo", "--epochs", "1", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs matplotlib" in err and "pip install 'chainrule[train]'" in err


def test_a_missing_module_that_is_no_extra_is_a_bug_and_is_raised():
    with pytest.raises(ModuleNotFoundError):
        missing_extra_message(ModuleNotFoundError("No module named 'chainrule.nothing'", name="chainrule.nothing"))


def test_every_command_is_listed_and_its_help_ends_with_an_example(capsys) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command}" in listing, command
    for command in COMMANDS:
        assert main([command, "--help"]) == 0, command
        assert "example:\n  chainrule" in capsys.readouterr().out, command


def test_no_command_prints_the_help_and_exits_2(capsys) -> None:
    assert main([]) == 2
    assert "usage: chainrule" in capsys.readouterr().out


def test_an_unknown_command_is_argparse_s_one_line_and_exit_2(capsys) -> None:
    assert main(["tarin"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'tarin'" in err and "Traceback" not in err


def test_negative_numbers_with_commas_and_exponents_are_values_not_options() -> None:
    for text in ("-1", "-0.5", "-1,0", "-2e-3", "-.5", "-1.5,-2"):
        assert cli.NEGATIVE_NUMBERS.match(text), text
    for text in ("-x", "--at", "-h", "-e"):
        assert not cli.NEGATIVE_NUMBERS.match(text), text
    args = build_parser().parse_args(["predict", "model.npz", "-1,0", "-2e-3,4"])
    assert args.inputs == ["-1,0", "-2e-3,4"]


def test_examples_are_read_as_rows_or_as_numbers_taken_features_at_a_time() -> None:
    assert _parse_examples(["1,2", "-3,4.5"], 2) == [[1.0, 2.0], [-3.0, 4.5]]
    assert _parse_examples(["1", "2", "3", "4"], 2) == [[1.0, 2.0], [3.0, 4.0]]
    for texts, message in ((["1", "2", "3"], "got 3 numbers; the model takes 2"),
                           (["1,2,3"], "has 3 numbers"), (["1,x"], "inputs must be numbers"),
                           (["1,nan"], "must be finite")):
        with pytest.raises(UsageError, match=message):
            _parse_examples(texts, 2)


def test_a_point_is_names_equal_values_and_a_bad_one_names_what_is_wrong() -> None:
    assert _parse_point(["x=0.7", "y=2"]) == {"x": 0.7, "y": 2.0}
    assert _parse_point(["x=0.7,y=-2"]) == {"x": 0.7, "y": -2.0}
    assert _parse_point(["\uff58=1"]) == {"x": 1.0}  # a full-width x is the x of the expression (NFKC)
    with pytest.raises(UsageError, match="NAME=VALUE, got 'x'"):
        _parse_point(["x"])
    with pytest.raises(UsageError, match="--at y: 'two' is not a number"):
        _parse_point(["y=two"])


@pytest.mark.parametrize(("error", "status", "says"), [
    (UsageError("bad input"), 2, "chainrule demo: error: bad input"),
    (MemoryError(), 2, "chainrule demo: error: out of memory; try smaller sizes"),
    (PermissionError(13, "Permission denied", "/root/x.png"), 2, "chainrule demo: error: Permission denied (/root/x.png)"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_each_kind_of_failure_is_one_line_with_its_exit_status(monkeypatch, capsys, error, status, says) -> None:
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "_demo_command", fail)
    assert main(["demo"]) == status
    err = capsys.readouterr().err
    assert err == says + "\n"


def test_an_unexpected_error_is_not_hidden(monkeypatch) -> None:
    """Only the failures above are the user's to fix; anything else is a bug and keeps its traceback."""
    def fail(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_demo_command", fail)
    with pytest.raises(ZeroDivisionError):
        main(["demo"])
