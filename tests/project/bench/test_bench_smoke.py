"""Smoke test of `benchmarks`: every section runs in-process on tiny sizes, and chainrule's losses and gradients
agree with the hand-written NumPy reference. Nothing here asserts a time: timings on a shared machine vary.
"""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from benchmarks import run
from benchmarks.reference import NumpyReference
from benchmarks.report import (
    FLOAT32_TOLERANCE,
    busy_warnings,
    chainrule_dtypes,
    eager_table,
    evaluate,
    render,
    targets,
)
from benchmarks.sections import TINY, relative_error
from benchmarks.timing import Timing, paired_ratio, peak_memory
from benchmarks.worker import collect
from benchmarks.workloads import make_chain, make_example, make_mlp, make_moons


@pytest.fixture(scope="module")
def record() -> dict:
    return collect(1, "BCDE", TINY, ["numpy", "chainrule"], log=lambda msg: None)


def _chainrule(record: dict, *path: str) -> dict:
    node = record["sections"]
    for key in path:
        node = node[key]
    return node["chainrule"]


def test_every_section_runs_for_chainrule_and_the_reference(record):
    assert record["error"] is None and record["missing"] == {}
    assert set(record["sections"]) == set("BCDE")
    rows = [_chainrule(record, "B", "results"), _chainrule(record, "C", "results"),
            _chainrule(record, "E", "results")]
    rows += [case["results"]["chainrule"] for case in record["sections"]["D"]["cases"].values()]
    for row in rows:
        assert row.get("error") is None
        assert row["ratio_numpy"] > 0 and row["median_per_unit_s"] > 0


def test_chainrule_chain_gradients_equal_the_exact_float64_values(record):
    assert _chainrule(record, "B", "results")["check"] <= FLOAT32_TOLERANCE
    assert record["sections"]["B"]["results"]["numpy"]["check"] <= FLOAT32_TOLERANCE


def test_chainrule_moons_losses_agree_with_the_reference_over_three_steps(record):
    row = _chainrule(record, "C", "results")
    ref = record["sections"]["C"]["results"]["numpy"]["losses"]
    assert len(row["losses"]) == 3 and len(set(ref)) == 3          # the updates changed the loss
    assert row["check"] <= FLOAT32_TOLERANCE


@pytest.mark.parametrize("case", ["D-i", "D-ii", "D-iii"])
def test_chainrule_mlp_losses_agree_with_the_reference_over_three_steps(record, case):
    results = record["sections"]["D"]["cases"][case]["results"]
    assert len(set(results["numpy"]["losses"])) == 3
    assert np.allclose(results["chainrule"]["losses"], results["numpy"]["losses"], rtol=FLOAT32_TOLERANCE, atol=0)


def test_chainrule_example_gradient_equals_the_float64_reference(record):
    assert _chainrule(record, "E", "results")["check"] <= FLOAT32_TOLERANCE


def test_float32_training_stays_float32_in_chainrule(record):
    assert chainrule_dtypes(record) == {"float32"}


def test_phase_split_and_peak_memory_are_measured_for_chainrule_and_the_reference(record):
    for case in record["sections"]["D"]["cases"].values():
        for name in ("numpy", "chainrule"):
            phases = case["phases"][name]
            assert phases["forward_s"] > 0 and phases["backward_s"] > 0
            assert case["memory"][name]["peak_bytes"] > 0
        assert case["memory"]["numpy"]["ratio_numpy"] == 1.0


def _float64_loss(spec, W, b) -> float:
    """Mean softmax cross-entropy of the ReLU MLP, written independently of the reference, in float64."""
    a = spec.X.astype(np.float64)
    for l, (W_l, b_l) in enumerate(zip(W, b)):
        a = a @ W_l.T + b_l
        if l < len(W) - 1:
            a = np.maximum(a, 0.0)
    z = a - a.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(spec.labels)), spec.labels].mean())


def test_reference_backprop_equals_central_differences():
    spec = make_mlp("tiny", sizes=(4, 5, 3), batch=3, seed=7)
    W = [w.astype(np.float64) for w in spec.W]
    b = [x.astype(np.float64) for x in spec.b]
    spec64 = replace(spec, X=spec.X.astype(np.float64), W=tuple(W), b=tuple(b))
    grads = NumpyReference().example_grad(spec64)()
    params = [p for pair in zip(W, b) for p in pair]
    eps = 1e-6
    for p, g in zip(params, grads):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = _float64_loss(spec, W, b)
            p[i] = old - eps
            down = _float64_loss(spec, W, b)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        assert np.allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_reference_sgd_step_moves_the_weights_down_the_gradient():
    spec = make_mlp("tiny", sizes=(6, 7, 4), batch=5, seed=2)
    step = NumpyReference().mlp_step(spec)
    first, second = step(), step()
    grads = NumpyReference().example_grad(spec)()          # the batch-mean gradient at the initial weights
    W = [w.astype(np.float64) - spec.lr * g for w, g in zip(spec.W, grads[0::2])]
    b = [x.astype(np.float64) - spec.lr * g for x, g in zip(spec.b, grads[1::2])]
    assert first == pytest.approx(_float64_loss(spec, spec.W, spec.b), rel=1e-6)
    assert second == pytest.approx(_float64_loss(spec, W, b), rel=1e-6)


def test_workloads_keep_weights_in_the_out_in_layout_and_are_reproducible():
    spec = make_mlp("D-ii")
    assert [w.shape for w in spec.W] == [(256, 784), (256, 256), (10, 256)]
    assert all(w.dtype == np.float32 for w in spec.W) and spec.X.dtype == np.float32
    assert np.array_equal(make_mlp("D-ii").W[0], spec.W[0])
    assert [w.shape for w in make_moons().W] == [(16, 2), (16, 16), (1, 16)]
    assert make_example().batch == 1 and make_chain(8).n_ops == 8
    with pytest.raises(ValueError, match="unknown case"):
        make_mlp("D-iv")


def test_paired_ratio_takes_the_median_of_ratios_within_rounds():
    a = Timing(per_round={0: 2.0, 1: 9.0, 2: 3.0})
    b = Timing(per_round={0: 1.0, 1: 3.0, 2: 1.0, 3: 5.0})
    assert paired_ratio(a, b) == 3.0          # ratios 2, 3, 3; round 3 is not shared


def test_a_library_capped_to_a_shorter_chain_is_compared_per_op():
    from benchmarks.adapters import load_adapters
    from benchmarks.sections import section_chain

    adapters, _ = load_adapters(["numpy", "chainrule"], log=lambda msg: None)
    adapters[1].chain_max_ops = 6                   # an instance attribute: only this adapter
    result = section_chain(adapters, TINY, log=lambda msg: None)
    rows = result["results"]
    assert rows["numpy"]["n_ops"] == TINY.chain_ops and rows["chainrule"]["n_ops"] == 6
    assert rows["chainrule"]["check"] <= FLOAT32_TOLERANCE
    timing = Timing(per_round={0: 6.0}, samples=[6.0, 12.0]).per_unit(6)
    assert timing.per_round == {0: 1.0} and timing.samples == [1.0, 2.0]


def test_peak_memory_counts_a_steps_temporary_buffer():
    def factory():
        return lambda: np.ones(2 ** 18).sum()            # 2 MiB temporary per step
    assert peak_memory(factory)["peak_bytes"] >= 2 ** 21


def test_relative_error_refuses_results_of_different_shapes():
    assert relative_error([np.array([1.0, 2.0])], [np.array([1.0, 4.0])]) == 0.5
    with pytest.raises(ValueError, match="cannot compare"):
        relative_error([np.zeros(2)], [np.zeros(3)])


def test_report_lists_every_target_and_marks_one_over_its_limit_as_not_met(record):
    text = render([record], run.machine_info(), "python -m benchmarks.run --test")
    for target in targets(record):
        assert target.label in text
    assert (f"- Timing: up to {TINY.plan.rounds} interleaved rounds per workload, each library's block about "
            f"{TINY.plan.block_s:g} s") in text
    worse = copy.deepcopy(record)
    worse["sections"]["D"]["cases"]["D-i"]["results"]["chainrule"]["ratio_numpy"] = 1.6
    row = next(r for r in evaluate([worse]) if r["label"].startswith("D-i: MLP step"))
    assert row["met"] is False and row["values"] == {1: 1.6}
    case = record["sections"]["D"]["cases"]["D-i"]
    shape = f"{'-'.join(map(str, case['sizes']))}, b{case['batch']}"
    assert f"| D-i: MLP step {shape} | ≤ 1.50× | 1.60× | **no** |" in render([worse], {}, "cmd")


def test_the_eager_table_marks_a_ratio_past_the_ten_percent_slack_and_one_slower_than_torch(record):
    worse = copy.deepcopy(record)
    result = worse["sections"]["D"]["cases"]["D-ii"]["results"]["chainrule"]
    result["ratio_numpy"], result["ratio_torch"] = 1.25, 1.02  # the limit is 1.10×, with the slack 1.21×
    lines = eager_table([worse])
    assert "| D-ii | 1 | 1.25× | ≤ 1.10× | ≤ 1.21× | 1.02× | **no** | **no** |" in lines
    result["ratio_numpy"], result["ratio_torch"] = 1.2, 0.9
    assert "| D-ii | 1 | 1.20× | ≤ 1.10× | ≤ 1.21× | 0.900× | yes | yes |" in eager_table([worse])
    text = render([record], {}, "cmd")
    assert "## Issue 15: the reference engine, eager" in text and "`Primitive._apply_two`: " in text


def test_a_two_thread_gemm_slower_than_one_thread_is_reported_as_a_busy_machine(record):
    assert record["gemm_probe_gflops"]["start"] > 0
    one, two = {"threads": 1, "gemm_probe_gflops": {"start": 90.0}}, {"threads": 2, "gemm_probe_gflops": {}}
    two["gemm_probe_gflops"]["start"] = 40.0
    assert len(busy_warnings([one, two])) == 1 and "2-thread timings" in busy_warnings([one, two])[0]
    two["gemm_probe_gflops"]["start"] = 150.0
    assert busy_warnings([one, two]) == []
    two["gemm_probe_gflops"]["end"] = 2.0                      # collapsed during the run
    assert len(busy_warnings([one, two])) == 1


def test_a_saved_run_renders_again_without_measuring(record, tmp_path):
    import json

    (tmp_path / "full-t1.json").write_text(json.dumps(record))
    run_json = tmp_path / "full-run.json"
    run_json.write_text(json.dumps({"machine": {"cpu": "test cpu"}, "command": "cmd", "wall_s": 1.0,
                                    "records": ["full-t1.json"], "failed": ["2 thread(s): worker wrote no results"]}))
    assert run._render_saved(run_json, tmp_path / "RESULTS.md") == 1      # a failed worker is not a success
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## Targets of issue 5" in text and "test cpu" in text and "worker wrote no results" in text
    assert run._render_saved(tmp_path / "missing.json", tmp_path / "other.md") == 1


@pytest.mark.parametrize("argv", [["--threads", "0"], ["--threads", "one"], ["--sections", "BX"]])
def test_run_rejects_bad_arguments_with_usage_status(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err
