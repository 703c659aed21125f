"""Model files: save → load gives identical predictions; bad files are refused clearly; writes are atomic."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from chainrule import io, nn


@pytest.fixture
def inputs() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(9, 3))


@pytest.mark.parametrize(
    "model",
    [
        nn.MLP([3, 5, 4, 2], activation="tanh", output_activation="sigmoid", rng=0),
        nn.MLP([3, 4, 1], activation="relu", dtype=np.float32, rng=1),
        nn.Sequential(nn.Linear(3, 4, rng=2), nn.LeakyReLU(0.2), nn.Linear(4, 2, bias=False, rng=3), nn.Softplus()),
    ],
    ids=["mlp", "mlp-float32", "sequential"],
)
def test_save_then_load_gives_identical_predictions(tmp_path, inputs, model) -> None:
    path = io.save(model, tmp_path / "model.npz")
    loaded = io.load(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded(inputs).data, model(inputs).data)
    assert [p.dtype for p in loaded.parameters()] == [p.dtype for p in model.parameters()]


def test_a_loaded_mlp_keeps_its_architecture_and_metadata(tmp_path) -> None:
    model = nn.MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", rng=0)
    io.save(model, tmp_path / "m.npz", metadata={"loss": "bce", "threshold": 0.5})
    loaded = io.load(tmp_path / "m.npz")
    assert (loaded.sizes, loaded.activation, loaded.output_activation) == ([2, 3, 1], "tanh", "sigmoid")
    assert io.metadata(tmp_path / "m.npz") == {"loss": "bce", "threshold": 0.5}


def test_the_file_is_a_plain_npz_readable_without_pickle(tmp_path) -> None:
    io.save(nn.MLP([2, 2, 1], rng=0), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        architecture = json.loads(str(archive["__architecture__"]))
        assert architecture["model"]["class"] == "MLP"
        assert archive["layers.0.weight"].shape == (2, 2)


def test_a_truncated_file_is_refused_with_a_clear_error(tmp_path) -> None:
    path = io.save(nn.MLP([2, 8, 1], rng=0), tmp_path / "m.npz")
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(io.ModelFileError, match="truncated or corrupt"):
        io.load(path)


def test_random_bytes_and_a_missing_file_are_refused(tmp_path) -> None:
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(io.ModelFileError, match=r"noise.npz: not a chainrule model file \(not an .npz archive\)$"):
        io.load(tmp_path / "noise.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(io.ModelFileError, match="not an .npz archive"):
        io.load(tmp_path / "array.npy")
    with pytest.raises(io.ModelFileError, match="no such model file"):
        io.load(tmp_path / "absent.npz")


def test_an_npz_that_is_not_a_chainrule_model_is_refused(tmp_path) -> None:
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(io.ModelFileError, match="no architecture entry"):
        io.load(tmp_path / "other.npz")


def test_an_npz_holding_a_pickled_object_is_refused_without_unpickling(tmp_path) -> None:
    path = io.save(nn.MLP([2, 2, 1], rng=0), tmp_path / "m.npz")
    with zipfile.ZipFile(path, "a") as archive, archive.open("evil.npy", "w") as member:
        np.lib.format.write_array(member, np.array([{"run": "code"}], dtype=object), allow_pickle=True)
    with pytest.raises(io.ModelFileError, match="pickled Python objects"):
        io.load(path)


def test_parameters_that_do_not_fit_the_architecture_are_refused_naming_them(tmp_path) -> None:
    path = io.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["layers.1.weight"] = np.zeros((1, 7))
    np.savez(path, **arrays)
    with pytest.raises(io.ModelFileError, match=r"layers.1.weight has shape \(1, 7\)"):
        io.load(path)


def test_a_failed_save_leaves_the_old_file_untouched_and_no_temporary_file(tmp_path, monkeypatch) -> None:
    path = io.save(nn.MLP([2, 2, 1], rng=0), tmp_path / "m.npz")
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        io.save(nn.MLP([2, 2, 1], rng=5), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_metadata_must_be_plain_json(tmp_path) -> None:
    with pytest.raises(ValueError, match="plain JSON"):
        io.save(nn.MLP([2, 2, 1], rng=0), tmp_path / "m.npz", metadata={"bad": object()})
