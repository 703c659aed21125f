"""Text handed to a picture (titles, axis and legend labels) is made printable first: a lone surrogate or a
control character from a caller or a file is drawn as a visible mark, never stops the save (issue 14)."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.train import History
from chainrule.viz.plots import plot_decision_boundary, plot_history, plot_sweep_curves

HOSTILE = "half \ud800 a pair \x1b[31m <script> \u202e"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # ␛ has no glyph in DejaVu Sans
def test_every_picture_takes_a_hostile_title(tmp_path) -> None:
    history = History()
    history.train_loss, history.train_acc = [1.0, 0.5, 0.25], [0.5, 0.75, 1.0]
    written = [
        plot_history(history, tmp_path / "loss.png", title=HOSTILE, loss_name=HOSTILE),
        plot_sweep_curves([(HOSTILE, [(HOSTILE, np.array([1.0, 0.5]))])], tmp_path / "sweep.png", title=HOSTILE,
                          loss_name=HOSTILE),
        plot_decision_boundary(nn.MLP([2, 3, 1], rng=0), np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]),
                               tmp_path / "boundary.png", title=HOSTILE, steps=20),
    ]
    for path in written:
        assert path.read_bytes().startswith(PNG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boundary.png", "loss.png", "sweep.png"]
