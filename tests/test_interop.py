"""Models that move on: safetensors under nn.Sequential's names (read back by chainrule.load), a torch
state_dict file, to_torch / from_torch, and an ONNX graph checked under ONNX Runtime, each path both ways.

The safetensors file needs no extra (chainrule writes and reads it with NumPy); the `safetensors` package, when
installed, checks that the files are the real format. PyTorch and onnx tests skip with the extra to install.
"""
from __future__ import annotations

import contextlib
import io as text_io
import json

import numpy as np
import pytest

import chainrule
from chainrule import interop, io
from chainrule.cli import main
from chainrule.interop import ExportError
from chainrule.io import ModelFileError
from chainrule.nn import ACTIVATIONS, MLP, Arctan, LeakyReLU, Linear, Sequential, Tanh
from optional_imports import import_extra_or_skip

X = np.random.default_rng(7).uniform(-2, 2, size=(16, 3))


def outputs(model, X=X) -> np.ndarray:
    return np.asarray(model(X).data)


def mlp(activation="tanh", output="sigmoid", sizes=(3, 4, 2), seed=0) -> MLP:
    return MLP(list(sizes), activation=activation, output_activation=output, rng=seed)


def mixed() -> Sequential:
    """A Sequential that is no MLP: an arctan, a leaky slope of 0.2, a Linear without bias, a nested MLP."""
    return Sequential(Linear(3, 4, rng=1), Arctan(), Linear(4, 4, bias=False, rng=2), LeakyReLU(0.2),
                      mlp("relu", None, (4, 3, 2), seed=3))


def run_cli(*words: str) -> tuple[int, str]:
    out = text_io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(words))
    return status, out.getvalue()


# ---------------------------------------------------------------- nn.Sequential names
def test_an_mlp_is_named_as_the_matching_nn_sequential():
    model = mlp()
    assert interop.sequential_names(model) == {"layers.0.weight": "0.weight", "layers.0.bias": "0.bias",
                                               "layers.1.weight": "2.weight", "layers.1.bias": "2.bias"}
    assert interop.torch_source(model) == "nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())"


def test_a_nested_sequential_is_flattened_and_identity_is_left_out():
    names = interop.sequential_names(mixed())
    assert names == {"steps.0.weight": "0.weight", "steps.0.bias": "0.bias", "steps.2.weight": "2.weight",
                     "steps.4.layers.0.weight": "4.weight", "steps.4.layers.0.bias": "4.bias",
                     "steps.4.layers.1.weight": "6.weight", "steps.4.layers.1.bias": "6.bias"}


def test_every_activation_has_an_onnx_operator_and_all_but_arctan_a_torch_module():
    assert set(ONNX := interop.ONNX_OPERATORS) == set(ACTIVATIONS) - {"identity"}, ONNX
    assert set(interop.TORCH_MODULES) == set(ACTIVATIONS) - {"identity", "arctan"}


def test_a_module_that_cannot_travel_is_refused_by_name():
    class Doubler(chainrule.nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(ExportError, match="cannot export a Doubler: chainrule exports MLP"):
        interop.sequential_steps(Sequential(Linear(2, 2), Doubler()))
    with pytest.raises(ExportError, match="PyTorch has no module for the arctan activation"):
        interop.torch_source(mixed())


# ---------------------------------------------------------------- safetensors (no extra needed)
@pytest.mark.parametrize("make", [mlp, mixed], ids=["mlp", "sequential"])
def test_a_safetensors_file_loads_back_exactly(tmp_path, make):
    model = make()
    path = chainrule.save(model, tmp_path / "m.safetensors", metadata={"loss": "bce"})
    again = chainrule.load(path)
    assert type(again) is type(model) and io.metadata(path) == {"loss": "bce"}
    np.testing.assert_array_equal(outputs(again), outputs(model))
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[name], array)


def test_the_safetensors_package_reads_chainrules_file_with_the_architecture(tmp_path):
    safetensors_numpy = import_extra_or_skip("safetensors.numpy", "interop")
    from safetensors import safe_open

    model = mlp()
    path = chainrule.save(model, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(str(path))
    assert sorted(arrays) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    np.testing.assert_array_equal(arrays["2.weight"], model.layers[1].weight.data)
    with safe_open(str(path), "np") as file:
        metadata = file.metadata()
    assert json.loads(metadata["architecture"])["model"]["config"]["sizes"] == [3, 4, 2]
    assert json.loads(metadata["sequential"])[1] == {"class": "Tanh"}
    assert metadata["torch"] == interop.torch_source(model)


def test_chainrule_reads_a_file_the_safetensors_package_wrote(tmp_path):
    safetensors_numpy = import_extra_or_skip("safetensors.numpy", "interop")
    from safetensors import safe_open

    model = mlp()
    chainrule.save(model, tmp_path / "ours.safetensors")
    with safe_open(str(tmp_path / "ours.safetensors"), "np") as file:
        metadata = file.metadata()
    halved = {name: array / 2 for name, array in safetensors_numpy.load_file(str(tmp_path / "ours.safetensors")).items()}
    safetensors_numpy.save_file(halved, str(tmp_path / "theirs.safetensors"), metadata=metadata)
    again = chainrule.load(tmp_path / "theirs.safetensors")
    np.testing.assert_array_equal(again.layers[0].weight.data, model.layers[0].weight.data / 2)


def test_save_with_a_dtype_writes_that_dtype(tmp_path):
    path = chainrule.save(mlp(), tmp_path / "m.safetensors", dtype="float32")
    header = json.loads(path.read_bytes()[8:8 + int.from_bytes(path.read_bytes()[:8], "little")])
    assert {entry["dtype"] for name, entry in header.items() if name != "__metadata__"} == {"F32"}
    np.testing.assert_allclose(outputs(chainrule.load(path)), outputs(mlp()), atol=1e-6)


def _rewrite(path, edit) -> None:
    """Re-write a safetensors file with its JSON header changed by `edit(header)`."""
    content = path.read_bytes()
    length = int.from_bytes(content[:8], "little")
    header = json.loads(content[8:8 + length])
    edit(header)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + content[8 + length:])


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-5]), "truncated, or something appended"),
    (lambda p: p.write_bytes(p.read_bytes() + b"extra"), "truncated, or something appended"),
    (lambda p: p.write_bytes((10**9).to_bytes(8, "little") + b"{" + p.read_bytes()[9:]), "header declares"),
    (lambda p: _rewrite(p, lambda h: h["0.weight"].update(dtype="I64")), "has dtype 'I64'"),
    (lambda p: _rewrite(p, lambda h: h["0.weight"].update(shape=[4, 4])), "declares shape"),
    (lambda p: _rewrite(p, lambda h: h.pop("__metadata__")), "without chainrule's metadata"),
    (lambda p: _rewrite(p, lambda h: h["0.bias"].update(data_offsets=[0, 32])), "starts at byte"),
    (lambda p: _rewrite(p, lambda h: h.update({"9.weight": h.pop("2.weight")})), "9.weight"),
], ids=["truncated", "appended", "huge header", "integer dtype", "shape", "no metadata", "overlap", "renamed"])
def test_a_damaged_safetensors_file_is_refused_in_one_line(tmp_path, damage, message):
    path = chainrule.save(mlp(), tmp_path / "m.safetensors")
    damage(path)
    with pytest.raises(ModelFileError, match=message) as caught:
        chainrule.load(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- PyTorch, both ways
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus"])
def test_to_torch_computes_the_same_outputs_in_float32(torch, activation):
    model = mlp(activation, activation, sizes=(3, 8, 8, 2))
    module = interop.to_torch(model)
    assert next(module.parameters()).dtype == torch.float32
    got = module(torch.tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(got, outputs(model), rtol=1e-6, atol=1e-6)


def test_the_torch_file_loads_with_weights_only_into_the_matching_sequential(torch, tmp_path):
    from torch import nn

    model = mixed().steps[4]  # relu MLP 4-3-2 with a linear output
    model_path = chainrule.save(model, tmp_path / "m.npz")
    status, printed = run_cli("export", str(model_path), "--to", "torch", "--out", str(tmp_path / "m.pt"))
    assert status == 0 and "nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))" in printed
    module = eval(interop.torch_source(model), {"nn": nn})
    module.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    X4 = np.random.default_rng(0).normal(size=(5, 4))
    got = module(torch.tensor(X4, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(got, outputs(model, X4), rtol=1e-6, atol=1e-6)


def test_the_safetensors_file_loads_into_the_matching_sequential(torch, tmp_path):
    safetensors_torch = import_extra_or_skip("safetensors.torch", "interop")
    from torch import nn

    model = mlp()
    path = chainrule.save(model, tmp_path / "m.safetensors")
    module = eval(interop.torch_source(model), {"nn": nn}).double()
    module.load_state_dict(safetensors_torch.load_file(str(path)))
    np.testing.assert_allclose(module(torch.tensor(X)).detach().numpy(), outputs(model), rtol=1e-12)


def test_from_torch_takes_a_pytorch_mlp_back_as_an_mlp(torch):
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Sequential(nn.Linear(5, 5), nn.Tanh()), nn.Linear(5, 2))
    model = interop.from_torch(module)
    assert isinstance(model, MLP) and model.sizes == [3, 5, 5, 2] and model.activation == "tanh"
    assert model.output_activation is None
    expected = module(torch.tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(outputs(model), expected, rtol=1e-6, atol=1e-6)


def test_from_torch_keeps_what_no_mlp_spells_as_a_sequential(torch):
    from torch import nn

    module = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 4, bias=False), nn.Sigmoid(),
                           nn.Identity(), nn.Linear(4, 1))
    model = interop.from_torch(module)
    assert isinstance(model, Sequential) and isinstance(model[1], LeakyReLU) and model[1].slope == pytest.approx(0.2)
    assert model[2].bias is None
    expected = module(torch.tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(outputs(model), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outputs(interop.from_torch(interop.to_torch(model))), outputs(model), atol=1e-6)


def test_from_torch_refuses_what_chainrule_cannot_run_by_name(torch):
    from torch import nn

    with pytest.raises(ExportError, match="layer 1 is a Dropout"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Linear(2, 1)))
    with pytest.raises(ExportError, match="takes an nn.Sequential .* got a Linear"):
        interop.from_torch(nn.Linear(2, 2))
    with pytest.raises(ExportError, match="beta=2"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2)))
    with pytest.raises(ExportError, match="a Linear with 3 outputs feeds a Linear with 2 inputs"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Linear(2, 1)))
    with pytest.raises(ExportError, match="PyTorch has no module for the arctan"):
        interop.to_torch(mixed())


def test_chainrule_explains_a_step_of_a_network_built_in_pytorch(torch, tmp_path):
    from torch import nn

    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    path = chainrule.save(interop.from_torch(module), tmp_path / "from-torch.npz")
    status, printed = run_cli("explain", str(path), "--x", "0.5", "-1", "--t", "1", "--no-color")
    assert status == 0 and "δ" in printed


# ---------------------------------------------------------------- ONNX, checked under ONNX Runtime
@pytest.fixture(scope="module")
def onnxruntime():
    import_extra_or_skip("onnx", "interop")
    return import_extra_or_skip("onnxruntime", "interop")


@pytest.mark.parametrize("make", [mlp, mixed, lambda: mlp("softplus", None)], ids=["mlp", "sequential", "softplus"])
def test_the_onnx_graph_under_onnx_runtime_equals_chainrule_predict(onnxruntime, tmp_path, make):
    model = make()
    model_path = chainrule.save(model, tmp_path / "m.npz")
    status, printed = run_cli("export", str(model_path), "--to", "onnx")
    assert status == 0 and f"wrote {tmp_path / 'm.onnx'}" in printed
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    inputs = np.round(X, 3)  # as typed on the command line
    got = session.run(["y"], {"x": inputs.astype(np.float32)})[0]
    status, printed = run_cli("predict", str(model_path), *(",".join(f"{v:g}" for v in row) for row in inputs))
    rows = [line.replace(",", " ").split() for line in printed.splitlines()[1:]]
    predicted = np.array([[float(v) for v in row[3:-1]] for row in rows])  # 3 inputs, the outputs, the class
    assert status == 0 and predicted.shape == got.shape
    np.testing.assert_allclose(got, outputs(model, inputs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, predicted, rtol=1e-6, atol=1e-6)


def test_the_onnx_opset_is_the_newest_both_libraries_support(onnxruntime):
    import onnx

    graph = interop.to_onnx(mlp())
    opset = graph.opset_import[0].version
    assert opset == interop.newest_common_opset() <= onnx.defs.onnx_opset_version()
    onnx.checker.check_model(graph, full_check=True)
    if opset < onnx.defs.onnx_opset_version():  # the next opset onnx knows is one ONNX Runtime refuses
        with pytest.raises(Exception, match="opset|Opset"):
            onnxruntime.InferenceSession(interop.to_onnx(mlp(), opset=opset + 1).SerializeToString())


def test_a_float64_graph_agrees_exactly_and_a_missing_kernel_is_reported(onnxruntime):
    model = mlp()
    assert interop.check_onnx(model, interop.to_onnx(model, "float64"), tolerance=1e-12) <= 1e-12
    with pytest.raises(ExportError, match="ONNX Runtime cannot run the exported graph.*Atan.*--dtype float32"):
        interop.check_onnx(mixed(), interop.to_onnx(mixed(), "float64"))


# ---------------------------------------------------------------- the command line
def test_export_errors_are_one_line_with_status_2(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.npz"), "--to", "onnx"]) == 2
    assert "no such model file" in capsys.readouterr().err
    path = chainrule.save(mlp(), tmp_path / "m.npz")
    assert main(["export", str(path), "--to", "safetensors", "--out", str(path)]) == 2
    assert "is the model file itself" in capsys.readouterr().err
    assert main(["export", str(path), "--to", "keras"]) == 2


def test_export_to_safetensors_keeps_the_model_and_its_metadata(tmp_path):
    path = chainrule.save(mixed(), tmp_path / "m.npz", metadata={"threshold": 0.5})
    status, printed = run_cli("export", str(path), "--to", "safetensors")
    assert status == 0 and "float64" in printed and "in PyTorch" not in printed  # arctan: no torch module
    again = chainrule.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(outputs(again), outputs(mixed()))
    assert io.metadata(tmp_path / "m.safetensors") == {"threshold": 0.5}


def test_the_model_class_is_read_from_the_file_not_guessed(tmp_path):
    model = Sequential(Linear(3, 2, rng=0), Tanh())
    again = chainrule.load(chainrule.save(model, tmp_path / "m.safetensors"))
    assert isinstance(again, Sequential) and isinstance(again[1], Tanh)


# ---------------------------------------------------------------- checkpoints: the optimiser's state too
def _steps(model, optimizer, n: int, seed: int = 3) -> None:
    """n steps of full-batch descent on a fixed regression problem."""
    rng = np.random.default_rng(seed)
    X3, T = rng.normal(size=(8, 3)), rng.uniform(size=(8, 2))
    for _ in range(n):
        optimizer.zero_grad()
        ((model(X3) - T) ** 2).mean().backward()
        optimizer.step()


@pytest.mark.parametrize("make", [
    lambda ps: chainrule.optim.SGD(ps, lr=0.3, momentum=0.9, nesterov=True),
    lambda ps: chainrule.optim.Adam(ps, lr=0.05, betas=(0.8, 0.95)),
    lambda ps: chainrule.optim.RMSprop(ps, lr=0.01, momentum=0.5),
], ids=["sgd-nesterov", "adam", "rmsprop"])
def test_a_checkpoint_continues_exactly_where_the_run_stopped(tmp_path, make):
    straight = mlp()
    optimizer = make(straight.parameters())
    _steps(straight, optimizer, 10)

    stopped = mlp()
    first = make(stopped.parameters())
    _steps(stopped, first, 4)
    path = chainrule.save(stopped, tmp_path / "checkpoint.npz", optimizer=first)
    model, resumed = io.load_checkpoint(path)
    assert type(resumed) is type(first) and resumed.lr == first.lr
    _steps(model, resumed, 6)
    for name, array in straight.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], array)


def test_a_checkpoint_keeps_adams_moments_and_step_and_loads_as_a_plain_model(tmp_path):
    model = mlp()
    optimizer = chainrule.optim.Adam(model.parameters(), lr=0.01)
    _steps(model, optimizer, 3)
    path = chainrule.save(model, tmp_path / "c.npz", optimizer=optimizer)
    _, again = io.load_checkpoint(path)
    assert again.state[0]["step"] == 3 and again.betas == (0.9, 0.999)
    np.testing.assert_array_equal(again.state[2]["v"], optimizer.state[2]["v"])
    np.testing.assert_array_equal(outputs(chainrule.load(path)), outputs(model))  # load ignores the optimiser


def test_a_checkpoint_is_refused_where_it_cannot_be_kept_or_found(tmp_path):
    model = mlp()
    optimizer = chainrule.optim.SGD(model.parameters()[1:], lr=0.1)
    with pytest.raises(ValueError, match=r"must hold the model's parameters, in model.parameters\(\) order"):
        chainrule.save(model, tmp_path / "c.npz", optimizer=optimizer)
    whole = chainrule.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer state is kept in .npz checkpoints"):
        chainrule.save(model, tmp_path / "c.safetensors", optimizer=whole)
    with pytest.raises(ModelFileError, match="no optimizer state"):
        io.load_checkpoint(chainrule.save(model, tmp_path / "plain.npz"))


@pytest.mark.parametrize("edit, message", [
    (lambda a: a["optimizer"].update(arrays=["__optimizer__.9.m"]), "names '__optimizer__.9.m', which is no"),
    (lambda a: a["optimizer"].update(arrays=a["optimizer"]["arrays"][1:]), "declares no such parameter"),
    (lambda a: a["optimizer"].update({"class": "Lion"}), "names 'Lion'; chainrule has SGD, Adam, RMSprop"),
], ids=["index", "undeclared array", "class"])
def test_a_tampered_checkpoint_is_refused_in_one_line(tmp_path, edit, message):
    model = mlp()
    optimizer = chainrule.optim.Adam(model.parameters(), lr=0.01)
    _steps(model, optimizer, 1)
    path = chainrule.save(model, tmp_path / "c.npz", optimizer=optimizer)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    architecture = json.loads(str(arrays["__architecture__"]))
    edit(architecture)
    arrays["__architecture__"] = np.array(json.dumps(architecture))
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=message):
        io.load_checkpoint(path)


def test_the_readmes_export_commands_run_and_write_what_they_say(torch, tmp_path, monkeypatch):
    import re
    import shlex
    from pathlib import Path

    import_extra_or_skip("onnxruntime", "interop")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for block in re.findall(r"^```sh\n(.*?)^```$", readme, re.S | re.M)
                for line in block.splitlines() if line.startswith("chainrule export ")]
    assert {shlex.split(c)[shlex.split(c).index("--to") + 1] for c in commands} == {"torch", "safetensors", "onnx"}
    monkeypatch.chdir(tmp_path)
    model = MLP([2, 2, 1], output_activation="sigmoid", rng=1)
    chainrule.save(model, "runs/demo/model.npz", metadata={"loss": "half_sum", "threshold": 0.5})
    for command in commands:
        words = shlex.split(command)
        status, printed = run_cli(*words[1:])
        out = words[words.index("--out") + 1]
        assert status == 0 and f"wrote {out}" in printed and Path(out).stat().st_size > 0, command
