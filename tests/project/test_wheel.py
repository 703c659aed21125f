"""The package installs: `python -m build` makes a wheel and an sdist, and the wheel, installed into a fresh
virtual environment with NumPy as its only dependency, runs the commands a newcomer types first.

Nothing is downloaded: the build runs without isolation (this environment's setuptools), and the fresh
environment borrows NumPy from this one. A second run borrows every extra to check the demo itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import chainrule
from optional_imports import import_extra_or_skip

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _site_packages(prefix: Path) -> Path:
    return prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and sdist, built from a copy of the source (the checkout stays clean)."""
    import_extra_or_skip("build", "dev")
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "MANIFEST.in", "CHANGELOG.md", "Makefile", "mkdocs.yml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    for folder in ("examples", "docs"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    out = source / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def bare(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel and NumPy, nothing else."""
    prefix = tmp_path_factory.mktemp("bare-venv")
    venv.create(prefix, with_pip=False)
    site = _site_packages(Path(sys.prefix))
    for entry in site.iterdir():
        if entry.name.lower().startswith("numpy"):
            (_site_packages(prefix) / entry.name).symlink_to(entry)
    wheel = next(dist.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q",
                    "--no-index", "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    return prefix


def chainrule_in(prefix: Path, *words: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": "", "MPLBACKEND": "Agg"}
    return subprocess.run([str(prefix / "bin" / "chainrule"), *words], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_build_makes_a_wheel_with_the_static_files_and_py_typed_and_an_sdist(dist):
    wheel = next(dist.glob("chainrule-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"chainrule/py.typed", "chainrule/web/static/index.html", "chainrule/interop.py"} <= set(names)
    assert any(name.startswith("chainrule/web/static/js/") for name in names)
    import tarfile

    with tarfile.open(next(dist.glob("chainrule-*.tar.gz"))) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"examples/two-two-two.json", "src/chainrule/py.typed", "pyproject.toml"} <= members


def test_the_bare_wheel_prints_its_version_and_explains(bare, tmp_path):
    version = chainrule_in(bare, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"chainrule {chainrule.__version__}"
    explained = chainrule_in(bare, "explain", "--sizes", "2", "2", "1", "--no-color", cwd=tmp_path)
    assert explained.returncode == 0 and "δ" in explained.stdout, explained.stderr
    chain = chainrule_in(bare, "chain", "exp(sin(x**2))", "--at", "x=0.7", cwd=tmp_path)
    assert chain.returncode == 0, chain.stderr


def test_the_bare_wheel_says_in_one_line_which_extra_the_demo_needs(bare, tmp_path):
    demo = chainrule_in(bare, "demo", cwd=tmp_path)
    assert demo.returncode == 2 and "Traceback" not in demo.stderr
    assert demo.stderr.count("\n") == 1 and "pip install 'chainrule[train]'" in demo.stderr


def test_the_bare_wheel_saves_exports_and_predicts_from_safetensors(bare, tmp_path):
    python = str(bare / "bin" / "python")
    subprocess.run([python, "-c", "import chainrule; chainrule.save(chainrule.nn.MLP([2, 2, 1], rng=0), 'm.npz')"],
                   check=True, cwd=tmp_path, timeout=120)
    exported = chainrule_in(bare, "export", "m.npz", "--to", "safetensors", cwd=tmp_path)
    assert exported.returncode == 0 and (tmp_path / "m.safetensors").exists(), exported.stderr
    predicted = chainrule_in(bare, "predict", "m.safetensors", "0,1", cwd=tmp_path)
    assert predicted.returncode == 0 and len(predicted.stdout.splitlines()) == 2, predicted.stderr
    onnx = chainrule_in(bare, "export", "m.npz", "--to", "onnx", cwd=tmp_path)
    assert onnx.returncode == 2 and "pip install 'chainrule[interop]'" in onnx.stderr
    assert onnx.stderr.count("\n") == 1


def test_the_wheel_with_its_extras_runs_the_demo(dist, tmp_path_factory, tmp_path):
    import_extra_or_skip("matplotlib", "train")
    prefix = tmp_path_factory.mktemp("full-venv")
    venv.create(prefix, with_pip=False)
    # This environment's packages, seen through a path entry (its own .pth files, the editable install's
    # finder among them, are not run), so `chainrule` is the wheel's.
    (_site_packages(prefix) / "borrowed.pth").write_text(f"{_site_packages(Path(sys.prefix))}\n")
    wheel = next(dist.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q",
                    "--no-index", "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    where = subprocess.run([str(prefix / "bin" / "python"), "-c", "import chainrule; print(chainrule.__file__)"],
                           capture_output=True, text=True, check=True, timeout=120).stdout
    assert where.startswith(str(prefix)), where
    demo = chainrule_in(prefix, "demo", "--epochs", "300", "--out", "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "demo" / "loss.png").stat().st_size > 0 and (tmp_path / "demo" / "model.npz").exists()
