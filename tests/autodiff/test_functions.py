"""functions.py: the functions users call are the rule table's primitives under NumPy's names (`chainrule.sin` is
`rules.sin_p`, no wrapper in between), it is the one engine module that defines a builtin's name (`sum`, `max`,
`min`, `abs`), and `clip` keeps NumPy's argument names."""
from __future__ import annotations

import ast
import builtins
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.autodiff import functions, rules
from chainrule.autodiff.tensor import Primitive

ENGINE = Path(functions.__file__).resolve().parent


def test_every_primitive_function_is_the_table_entry_named_with_p():
    primitives = [name for name in functions.__all__ if isinstance(getattr(functions, name), Primitive)]
    assert {"sin", "sum", "max", "arctan", "matmul", "softmax_cross_entropy"} <= set(primitives)
    for name in primitives:
        assert getattr(rules, name + "_p") is getattr(functions, name), name


def test_every_primitive_of_the_table_is_offered_as_a_function():
    table = {name[:-2] for name, value in vars(rules).items() if name.endswith("_p") and isinstance(value, Primitive)}
    internal = {"identity", "scatter_add"}  # forward mode's input marker; indexing's vjp
    missing = sorted(table - set(functions.__all__) - internal)
    assert not missing, f"primitives without a function of the same name: {missing}"


def defined_names(path: Path) -> set[str]:
    """Names a module binds at its top level (assignments, functions, classes, imports)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def test_no_engine_module_but_functions_shadows_a_builtin():
    shadowing = {path.name: sorted(defined_names(path) & set(dir(builtins)))
                 for path in sorted(ENGINE.glob("*.py")) if path.name not in ("functions.py", "__init__.py")}
    assert not any(shadowing.values()), shadowing
    assert {"sum", "max", "min", "abs"} <= defined_names(ENGINE / "functions.py")


def test_clip_takes_numpys_names_and_passes_the_gradient_inside_the_bounds():
    x = cr.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = cr.clip(x, min=-1.0, max=1.0)
    np.testing.assert_array_equal(y.data, np.clip(x.data, -1.0, 1.0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])
