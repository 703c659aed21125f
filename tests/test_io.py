"""Model files: save → load gives identical predictions; bad files are refused clearly; writes are atomic."""
from __future__ import annotations

import io as _io
import json
import re
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


# ---------------------------------------------------------------- hostile files cost nothing (issue 14)
def _rewrite_architecture(path, change) -> None:
    """Replace the architecture entry of the model file at `path` by `change(architecture)`."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    architecture = json.loads(str(arrays.pop("__architecture__")))
    change(architecture)
    np.savez(path, __architecture__=np.array(json.dumps(architecture)), **arrays)


def _predict_in_process(path, capsys) -> tuple[int, str, int]:
    """(exit status, stderr, peak bytes allocated) of `chainrule predict path 0,0`."""
    import tracemalloc

    from chainrule import cli

    tracemalloc.start()
    try:
        status = cli.main(["predict", str(path), "0,0"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return status, capsys.readouterr().err, peak


def _assert_refused_cheaply(path, capsys, match: str) -> None:
    status, err, peak = _predict_in_process(path, capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(match, err), err
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB while refusing a hostile file"


@pytest.mark.parametrize("sizes", [[12500, 12500], [100000, 100000]])
def test_a_tiny_file_declaring_a_huge_architecture_is_refused_before_allocating(tmp_path, capsys, sizes) -> None:
    path = io.save(nn.MLP([2, 2], rng=0), tmp_path / "m.npz")
    _rewrite_architecture(path, lambda a: a["model"]["config"].update(sizes=sizes))
    assert path.stat().st_size < 2000
    _assert_refused_cheaply(path, capsys, r"declares|above the cap")


def _npz_with_member(path, name: str, header: dict, payload: bytes, architecture_sizes=(2, 2)) -> None:
    model = nn.MLP(list(architecture_sizes), rng=0)
    io.save(model, path)
    with zipfile.ZipFile(path, "a") as archive, archive.open(f"{name}.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(payload)


def test_an_npy_header_declaring_a_trillion_elements_is_one_clear_error(tmp_path, capsys) -> None:
    path = tmp_path / "m.npz"
    _npz_with_member(path, "huge", {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}, bytes(64))
    _assert_refused_cheaply(path, capsys, r"declares shape \(1000000, 1000000\)")


@pytest.mark.parametrize("descr", ["<c16", "<i8", "|b1"])
def test_parameters_that_are_not_real_floats_are_refused(tmp_path, capsys, descr) -> None:
    path = io.save(nn.MLP([2, 2], rng=0), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["layers.0.weight"] = arrays["layers.0.weight"].astype(np.dtype(descr))
    np.savez(path, **arrays)
    _assert_refused_cheaply(path, capsys, "must be real floating point")


def _zip_bomb(path, inflated: int) -> None:
    """A zip whose one member inflates to `inflated` bytes (a valid .npy header, then zeros) from ~1/1000 the size.

    The deflate stream is one compressed 16 MiB block of zeros repeated (full flushes make blocks independent);
    the CRC is left 0, which a reader only notices after inflating everything.
    """
    import struct
    import zlib

    header = _io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                   "shape": ((inflated - 128) // 8,)})
    head = header.getvalue()
    chunk = 1 << 24
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head + bytes(chunk - len(head))) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = -(-(inflated - chunk) // chunk)
    data = first + block * repeats + compressor.flush()
    size = chunk * (repeats + 1)
    name = b"layers.0.weight.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, 0, len(data), size, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, 0, len(data), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


def test_a_zip_bomb_is_refused_from_its_declared_sizes_before_inflating(tmp_path, capsys) -> None:
    path = tmp_path / "bomb.npz"
    _zip_bomb(path, 3 * 2**29)  # 1.5 GiB inflated
    assert path.stat().st_size < 2 * 2**20
    _assert_refused_cheaply(path, capsys, "would unpack to .* above the cap")


def test_an_architecture_nested_too_deeply_is_refused(tmp_path, capsys) -> None:
    path = io.save(nn.MLP([2, 2], rng=0), tmp_path / "m.npz")

    def nest(architecture):
        model = architecture["model"]
        for _ in range(200):
            model = {"class": "Sequential", "steps": [model]}
        architecture["model"] = model

    _rewrite_architecture(path, nest)
    _assert_refused_cheaply(path, capsys, "nests deeper than")


def test_no_array_is_read_beyond_the_bytes_its_header_declares(tmp_path) -> None:
    path = io.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.npz")
    with zipfile.ZipFile(path) as archive:
        headers = io._read_headers(archive)
        for name, header in headers.items():
            assert header.info.file_size == header.offset + header.nbytes, name


# ---------------------------------------------------------------- a killed save leaves nothing behind (issue 14)
def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import os, signal, numpy as np
        from chainrule import io, nn
        def killed(file, **arrays):
            file.write(b"half a model")
            file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        np.savez = killed
        io.save(nn.MLP([2, 2, 1], rng=0), {str(tmp_path / 'm.npz')!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].endswith(".chainrule-tmp") and leftovers[0].startswith(".m.npz.")
    io.save(nn.MLP([2, 2, 1], rng=0), tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npz"]
    assert os.path.exists(tmp_path / "other.npz")


def test_a_temporary_of_a_running_save_is_left_alone(tmp_path) -> None:
    import os

    from chainrule.files import remove_stale_temporaries

    mine = tmp_path / f".m.npz.{os.getpid()}.abc123.chainrule-tmp"
    mine.write_bytes(b"in progress")
    assert remove_stale_temporaries(tmp_path) == []
    assert mine.exists()


def test_an_entry_that_inflates_beyond_its_declared_size_is_read_only_as_far_as_declared(tmp_path) -> None:
    """A lying zip bomb: the directory declares a 144-byte bias, the deflate stream holds 1.5 GiB more."""
    import struct
    import tracemalloc
    import zlib

    path = io.save(nn.MLP([2, 2], rng=0), tmp_path / "m.npz")
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = compressor.compress(bytes(1 << 24)) + compressor.flush(zlib.Z_FULL_FLUSH)
    liar = compressor.compress(members["layers.0.bias.npy"]) + compressor.flush(zlib.Z_FULL_FLUSH)
    liar += zeros * 96 + compressor.flush()
    out, directory = _io.BytesIO(), []
    for name, content in members.items():
        stored = liar if name == "layers.0.bias.npy" else content
        method, raw, offset = (8 if stored is liar else 0), name.encode(), out.tell()
        fields = (method, 0, 0, zlib.crc32(content), len(stored), len(content), len(raw))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, *fields, 0) + raw + stored)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset)
                         + raw)
    start, central = out.tell(), b"".join(directory)
    out.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), len(central),
                                    start, 0))
    path.write_bytes(out.getvalue())
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    try:
        loaded = io.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    assert loaded.state_dict()["layers.0.bias"].shape == (2,)
