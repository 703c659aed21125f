"""Every file chainrule writes goes through one atomic helper, so an interrupted write never leaves half a
picture, table or model behind, and its temporary is cleaned up (issue 14)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from chainrule import files
from chainrule.train import History
from chainrule.viz.plots import plot_history

SRC = Path(__file__).resolve().parent.parent / "src" / "chainrule"
DIRECT_WRITE = re.compile(r"\.write_text\(|\.write_bytes\(|\bsavefig\((?!file)|\bopen\([^)]*['\"][wax]b?['\"]")


def test_no_module_writes_a_file_except_through_write_atomically() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "files.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if DIRECT_WRITE.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not offenders, "write these through chainrule.files.write_atomically:\n" + "\n".join(offenders)


def _history() -> History:
    history = History()
    history.train_loss, history.train_acc = [1.0, 0.5, 0.25], [0.5, 0.75, 1.0]
    return history


def test_a_picture_interrupted_mid_write_leaves_the_old_picture_and_no_temporary(tmp_path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    path = plot_history(_history(), tmp_path / "loss.png")
    before = path.read_bytes()
    original = Figure.savefig

    def interrupted(self, file, **kwargs):
        original(self, file, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plot_history(_history(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_write_atomically_takes_text_bytes_or_a_writer_and_keeps_the_umask(tmp_path) -> None:
    files.write_atomically(tmp_path / "a.txt", "ünïcode\n")
    files.write_atomically(tmp_path / "b.bin", b"\x00\x01")
    files.write_atomically(tmp_path / "deep" / "c.npy", lambda file: np.save(file, np.arange(3)))
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "ünïcode\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert np.load(tmp_path / "deep" / "c.npy").tolist() == [0, 1, 2]
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~files.current_umask()


def test_write_atomically_never_replaces_a_device_or_a_folder(tmp_path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        files.write_atomically(tmp_path / "folder", "x")
    with pytest.raises(ValueError, match="not a regular file"):
        files.write_atomically("/dev/null", "x")
    assert Path("/dev/null").is_char_device()
