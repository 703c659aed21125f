"""The sweep's three ways to train (stacked seeds, compiled steps, the eager engine) give the same table."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.sweep import run_sweep


def test_stacked_compiled_and_eager_sweeps_agree():
    results = {engine: run_sweep("xor", lrs=(0.5, 5.0), losses=("mse", "bce"), seeds=(0, 1), epochs=200,
                                 engine=engine) for engine in ("stacked", "compiled", "eager")}
    reference = results["eager"].runs
    for engine in ("stacked", "compiled"):
        for run, ref in zip(results[engine].runs, reference):
            assert run.setting == ref.setting and run.seed == ref.seed
            np.testing.assert_allclose(run.curve, ref.curve, rtol=1e-9, atol=1e-12)
            assert run.diagnosis.verdict == ref.diagnosis.verdict


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown sweep engine"):
        run_sweep("xor", seeds=(0,), epochs=2, engine="gpu")


def test_the_sweep_command_says_which_engine_trained(tmp_path, capsys):
    assert main(["sweep", "xor", "--lr", "0.5", "--loss", "mse", "--seed", "0", "--epochs", "20", "--no-compile",
                 "--out", str(tmp_path)]) == 0
    assert "(the eager engine)" in capsys.readouterr().out
