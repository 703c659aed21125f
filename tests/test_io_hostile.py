"""Hostile architecture JSON inside a model file (.npz or .safetensors): each is one clear line from
`chainrule predict`, never a traceback, and nothing in it is silently changed on the way in (issue 14)."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from chainrule import cli, io, nn


def _npz(path, model_text: str, metadata_text: str = "{}", arrays: dict | None = None):
    """A .npz holding `arrays` (default: a 2-3-1 MLP's) under an architecture entry written as raw JSON text."""
    arrays = nn.MLP([2, 3, 1], rng=0).state_dict() if arrays is None else arrays
    text = f'{{"format": "chainrule-model", "version": 1, "model": {model_text}, "metadata": {metadata_text}}}'
    np.savez(path, __architecture__=np.array(text), **arrays)
    return path


MLP_TEXT = json.dumps({"class": "MLP", "config": nn.MLP([2, 3, 1], rng=0).config()})
LINEAR_2_TO_3 = {"class": "Linear", "config": {"in_features": 2, "out_features": 3}}
LINEAR_5_TO_1 = {"class": "Linear", "config": {"in_features": 5, "out_features": 1}}
MISMATCHED = {"steps.0.weight": np.ones((3, 2)), "steps.0.bias": np.ones(3),
              "steps.1.weight": np.ones((1, 5)), "steps.1.bias": np.ones(1)}
NESTED_5000 = '{"class": "Sequential", "steps": [' * 5000 + MLP_TEXT + "]}" * 5000

# (id, architecture's model JSON, metadata JSON, arrays or None for the MLP's, what the one-line error says)
HOSTILE = [
    ("sequential-nested-5000-deep", NESTED_5000, "{}", {}, "nested too deeply"),
    ("metadata-nested-100000-deep", MLP_TEXT, '{"a": ' + "[" * 100000 + "]" * 100000 + "}", None, "nested too deeply"),
    ("empty-sequential", '{"class": "Sequential", "steps": []}', "{}", {}, "Sequential without steps"),
    ("no-parameters", '{"class": "Sequential", "steps": [{"class": "ReLU", "config": {}}]}', "{}", {},
     "declares no parameters"),
    ("layers-that-do-not-line-up", json.dumps({"class": "Sequential", "steps": [LINEAR_2_TO_3, LINEAR_5_TO_1]}),
     "{}", MISMATCHED, "do not line up: steps.1.weight takes 5 inputs but the layer before gives 3"),
    ("bias-as-text", json.dumps({"class": "MLP", "config": {"sizes": [2, 3, 1], "bias": "no"}}), "{}", None,
     "bias = 'no'; expected true or false"),
    ("threshold-abc", MLP_TEXT, '{"threshold": "abc"}', None, "threshold = 'abc'; expected a number"),
    ("threshold-a-list", MLP_TEXT, '{"threshold": [0.5]}', None, r"threshold = \[0.5\]; expected a number"),
    ("metadata-a-list", MLP_TEXT, "[1, 2]", None, "metadata is list, not a JSON object"),
    ("seed-infinity", MLP_TEXT, '{"seed": Infinity}', None, "holds Infinity, which is not a JSON number"),
    ("threshold-nan", MLP_TEXT, '{"threshold": NaN}', None, "holds NaN"),
    ("size-overflowing-to-infinity", '{"class": "MLP", "config": {"sizes": [2, 1e999, 1]}}', "{}", None,
     "the number 1e999, which overflows"),
]


@pytest.mark.parametrize("model_text, metadata_text, arrays, message", [case[1:] for case in HOSTILE],
                         ids=[case[0] for case in HOSTILE])
def test_hostile_architecture_json_is_one_clear_error(tmp_path, capsys, model_text, metadata_text, arrays,
                                                      message) -> None:
    path = _npz(tmp_path / "m.npz", model_text, metadata_text, arrays)
    with pytest.raises(io.ModelFileError, match=message):
        io.load(path)
    assert cli.main(["predict", str(path), "0,0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err and any(word in err for word in message.split()), err


def test_a_model_that_a_hostile_file_would_rebuild_is_named_with_its_path(tmp_path) -> None:
    path = _npz(tmp_path / "m.npz", json.dumps({"class": "MLP", "config": {"sizes": [2, 3, 1], "evil": 1}}))
    with pytest.raises(io.ModelFileError, match=r"m\.npz: cannot rebuild MLP"):
        io.load(path)


def test_nesting_within_the_cap_still_loads(tmp_path) -> None:
    model = nn.MLP([2, 3, 1], rng=0)
    for _ in range(io.MAX_NESTING):
        model = nn.Sequential(model)
    path = io.save(model, tmp_path / "m.npz")
    np.testing.assert_array_equal(io.load(path)(np.ones((1, 2))).data, model(np.ones((1, 2))).data)


def test_a_model_without_parameters_is_refused_when_saved_too(tmp_path) -> None:
    with pytest.raises(ValueError, match="no parameters"):
        io.save(nn.Sequential(nn.ReLU()), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def _rewrite_safetensors_header(path, change) -> None:
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    change(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length:])


def _metadata_says(key: str, text: str):
    def change(header: dict) -> None:
        header["__metadata__"]["architecture"] = header["__metadata__"]["architecture"].replace(
            '"metadata": {}', f'"metadata": {{"{key}": {text}}}')
    return change


@pytest.mark.parametrize("change, message", [
    (_metadata_says("threshold", '"abc"'), "threshold = 'abc'"),
    (_metadata_says("seed", "Infinity"), "holds Infinity"),
    (lambda header: header.update(extra=json.loads("[" * 50 + "]" * 50)), "has dtype"),
    (lambda header: header["__metadata__"].update(x=-1e999), "overflows"),
    (lambda header: header["0.weight"].update(dtype="C64"), "has dtype 'C64'"),
], ids=["threshold-abc", "seed-infinity", "nested-entry", "header-number-overflows", "complex-tensor"])
def test_hostile_safetensors_headers_are_one_clear_error(tmp_path, capsys, change, message) -> None:
    path = io.save(nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1)),
                   tmp_path / "m.safetensors")
    if "overflows" in message:  # json.dumps cannot write 1e999: put it in as text
        _rewrite_safetensors_header(path, lambda header: header["__metadata__"].update(x="OVERFLOW"))
        data = path.read_bytes().replace(b'"OVERFLOW"', b"-1e999    ")
        path.write_bytes(data)
    else:
        _rewrite_safetensors_header(path, change)
    with pytest.raises(io.ModelFileError, match=message):
        io.load(path)
    assert cli.main(["predict", str(path), "0,0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_complex_parameters_are_never_cut_to_their_real_parts_and_nothing_is_half_loaded() -> None:
    model = nn.MLP([2, 2, 1], rng=0)
    before = model.state_dict()
    state = {name: np.zeros_like(value) for name, value in before.items()}
    state["layers.1.bias"] = state["layers.1.bias"] + 1j
    with pytest.raises(ValueError, match="layers.1.bias holds complex numbers .* imaginary parts would be lost"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_non_finite_parameters_are_neither_saved_nor_loaded(tmp_path, capsys) -> None:
    model = nn.MLP([2, 3, 1], rng=0)
    model.layers[1].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="layers.1.weight holds NaN or ∞"):
        io.save(model, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="float16 cannot hold its values"):
        io.save(_huge(), tmp_path / "m.npz", dtype=np.float16)
    state = nn.MLP([2, 3, 1], rng=0).state_dict()
    state["layers.0.bias"][1] = np.inf
    path = _npz(tmp_path / "m.npz", MLP_TEXT, arrays=state)
    assert cli.main(["predict", str(path), "0,0"]) == 2
    err = capsys.readouterr().err
    assert "layers.0.bias holds NaN or ∞" in err and err.count("\n") == 1, err


def _huge():
    model = nn.MLP([2, 1], rng=0)
    model.layers[0].weight.data[0, 0] = 1e300
    return model


def test_saved_metadata_must_be_what_load_accepts(tmp_path) -> None:
    with pytest.raises(ValueError, match="threshold = 'abc'; expected a number"):
        io.save(nn.MLP([2, 1], rng=0), tmp_path / "m.npz", metadata={"threshold": "abc"})
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("example", ["nan,0", "1e999,0", "0,-inf"])
def test_predict_refuses_inputs_that_are_not_finite(tmp_path, capsys, example) -> None:
    path = io.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.npz")
    assert cli.main(["predict", str(path), example]) == 2
    assert "inputs must be finite numbers" in capsys.readouterr().err
