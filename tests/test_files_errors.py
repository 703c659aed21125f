"""A write that the file system refuses names the file asked for and why, in one line, never the temporary it
was writing (issue 14); a folder where a model file is expected is called a folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from chainrule import cli, files, io, nn


def _refusal(path: Path) -> OSError:
    with pytest.raises(OSError) as caught:
        files.write_atomically(path, b"data")
    return caught.value


def test_a_file_where_a_folder_should_be_is_named(tmp_path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    for target in (tmp_path / "plain" / "m.npz", tmp_path / "plain" / "deeper" / "m.npz"):
        error = _refusal(target)
        assert error.filename == str(target) and error.strerror == f"{tmp_path / 'plain'} is a file, not a folder"
        assert files.TEMPORARY_SUFFIX not in str(error)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_unwritable_place_names_the_target_not_the_temporary(tmp_path, capsys) -> None:
    error = _refusal(Path("/proc/m.npz"))
    assert error.filename == "/proc/m.npz" and files.TEMPORARY_SUFFIX not in str(error)
    model = io.save(nn.MLP([2, 1], rng=0), tmp_path / "m.npz")
    assert cli.main(["export", str(model), "--to", "safetensors", "--out", "/proc/m.safetensors"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/proc/m.safetensors" in err and files.TEMPORARY_SUFFIX not in err, err


def test_a_folder_named_like_a_model_file_is_called_a_folder(tmp_path, capsys) -> None:
    (tmp_path / "model.npz").mkdir()
    with pytest.raises(io.ModelFileError, match="model.npz is a folder, not a model file"):
        io.load(tmp_path / "model.npz")
    assert cli.main(["predict", str(tmp_path / "model.npz"), "0,0"]) == 2
    assert "is a folder, not a model file" in capsys.readouterr().err
