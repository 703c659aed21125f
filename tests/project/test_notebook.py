"""Jupyter: docs/notebooks/why-backprop.ipynb runs from top to bottom under a real kernel (nbclient with
ipykernel), failing on any error; and the objects a learner looks at in a cell render as HTML.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from chainrule.nn import MLP, Linear, Sequential, Tanh
from chainrule.optim import SGD
from chainrule.train import History, fit
from optional_imports import import_extra_or_skip

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebooks" / "why-backprop.ipynb"


def test_the_notebook_runs_top_to_bottom_without_an_error(tmp_path):
    nbformat = import_extra_or_skip("nbformat", "notebook")
    nbclient = import_extra_or_skip("nbclient", "notebook")
    import_extra_or_skip("ipykernel", "notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert re.search(r"largest difference: \d\.\d\de-(1[2-9]|[2-9]\d)", text)  # naive = back-propagation
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("chainrule-module" in page for page in html) and any("chainrule-history" in page for page in html)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the cost plot and the sweep's curves
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # tqdm's bar


def test_the_stored_notebook_is_valid_and_its_outputs_hold_no_error():
    nbformat = import_extra_or_skip("nbformat", "notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    stored = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    errors = [o for cell in stored["cells"] for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert not errors
    headings = [cell["source"] for cell in stored["cells"] if cell["cell_type"] == "markdown"]
    for topic in ("naive", "back-propagation", "What each costs", "Forward mode", "sweep of η and cost"):
        assert any(topic in "".join(h) for h in headings), topic


def test_a_module_renders_as_a_table_of_its_layers_and_parameter_counts():
    page = Sequential(Linear(3, 4, rng=0), Tanh(), MLP([4, 5, 2], rng=1))._repr_html_()
    rows = re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td><td>(.*?)</td>.*?>([\d,]+)</td></tr>", page)
    assert [(name, count) for name, _, _, count in rows] == [("steps.0", "16"), ("steps.2.layers.0", "25"),
                                                              ("steps.2.layers.1", "12")]
    assert rows[0][2] == "weight (4, 3), bias (4,)"
    assert re.search(r"total</th><th[^>]*>53</th>", page)


def test_a_training_history_renders_its_loss_curve_inline():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    net = MLP([2, 2, 1], output_activation="sigmoid", rng=1)
    history = fit(net, "bce", SGD(net.parameters(), lr=2.0), (X, np.array([0, 1, 1, 0])), epochs=50)
    page = history._repr_html_()
    points = re.search(r"<polyline[^>]*points='([^']*)'", page).group(1).split()
    assert len(points) == 51 and "50 epochs (completed)" in page
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[-1] > ys[0]  # the loss fell, and SVG's y axis points down
    assert "no finite loss" in History(train_loss=[float("nan")])._repr_html_()


@pytest.mark.parametrize("name", ["interop", "io"])
def test_public_functions_of_the_interop_modules_have_docstrings(name):
    import importlib
    import inspect

    module = importlib.import_module(f"chainrule.{name}")
    public = [f for n, f in vars(module).items() if inspect.isfunction(f) and not n.startswith("_")
              and f.__module__ == module.__name__]
    assert public and all(f.__doc__ for f in public), [f.__name__ for f in public if not f.__doc__]
