"""Writing a one-line rule out in place: `sigmoid_vjp0(g, a2, z2)` becomes `g * a2 * (1 - a2)`.

A derivative rule (or a forward) written in the rule table as a `lambda` is one expression of its parameters.
The generated source shows that expression with the program's names put in for the parameters, so a reader
sees the calculus itself and the replay saves a Python call per statement. A call of a primitive inside the
expression becomes a call of its forward (what the primitive does on plain arrays). Anything else (a `def`,
a lambda with a closure or *args, a name that would clash) stays a call of the rule by name.
"""
from __future__ import annotations

import ast
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autodiff import rules
from ..autodiff.tensor import Primitive

_LITERAL_TYPES = (bool, int, float, str, type(None))


def _linear_form(shapes: list, dtypes: list) -> str | None:
    """z = x Wᵀ, then z += b, for a batch of rows (what rules._linear computes once its checks have passed)."""
    if len({d for d in dtypes if d is not None}) != 1:
        return None
    if len(shapes) >= 2 and len(shapes[0] or ()) == 2 and len(shapes[1] or ()) == 2:
        if len(shapes) == 2 or shapes[2] is None:
            return "{0} @ {1}.T"
        if len(shapes[2]) == 1:
            return "{0} @ {1}.T; {out} += {2}"
    return None


def _weights_form(shapes: list, dtypes: list) -> str | None:
    """∂C/∂W = ḡᵀ x over the rows (rules._linear_vjp_W; an outer product for one row)."""
    g, x = shapes[0], shapes[2]
    if g is not None and x is not None and len(g) == 2 and len(x) == 2:
        return "{0}.T * {2}" if g[0] == 1 else "{0}.T @ {2}"
    return None


def _bias_form(shapes: list, dtypes: list) -> str | None:
    """∂C/∂b = Σ over the rows of ḡ (rules._linear_vjp_b)."""
    return "{0}.sum(axis=0)" if shapes[0] is not None and len(shapes[0]) == 2 else None


def _sum_form(shapes: list, dtypes: list) -> str | None:
    """Σ of every element: the ufunc reduction that rules.sum_p's forward calls after checking the axes."""
    return "np.add.reduce({0}, axis=None)" if shapes[0] is not None else None


def _mean_form(shapes: list, dtypes: list) -> str | None:
    """Σx / n over every element of a non-empty floating array (rules._mean without its checks)."""
    shape, dtype = shapes[0], dtypes[0]
    if shape is None or dtype is None or np.dtype(dtype).kind != "f" or math.prod(shape) == 0:
        return None
    return "np.add.reduce({0}, axis=None) / " + str(math.prod(shape))


# One-line forms of the rule table's multi-line functions, for the operand shapes where they reduce to one
# line: the same arithmetic without the checks and branches (tests/compiler/test_inline.py checks each
# against the function it stands for).
WRITTEN_FORMS = {rules._linear: _linear_form, rules._linear_vjp_W: _weights_form, rules._linear_vjp_b: _bias_form,
                 rules.sum_p.forward: _sum_form, rules._mean: _mean_form}


def written_form(function: Callable, args: list[str], shapes: list, dtypes: list, out: str = "out") -> str | None:
    """function(*args) as one line (the result named `out`) for operands of these shapes and dtypes (None: no
    written form applies)."""
    form = WRITTEN_FORMS.get(function)
    template = form(shapes, dtypes) if form is not None else None
    return template.format(*args, out=out) if template is not None else None


_UFUNCS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide"}


def in_place(expression: str, name: str) -> str | None:
    """`name * rest` as np.multiply(name, rest, out=name) (also +, −, /, and rest * name for + and ×), or None
    when the expression is not such an operation on `name`."""
    try:
        top = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(top, ast.Call):
        return _ufunc_in_place(top, name)
    if not isinstance(top, ast.BinOp) or type(top.op) not in _UFUNCS:
        return None
    ufunc = _UFUNCS[type(top.op)]
    other = _other_operand(top, name, commutative=ufunc in ("add", "multiply"))
    if other is None or any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(other)):
        return None
    return f"np.{ufunc}({name}, {ast.unparse(other)}, out={name})"


def _ufunc_in_place(call: ast.Call, name: str) -> str | None:
    """np.maximum(name, 0) as np.maximum(name, 0, out=name): a NumPy ufunc whose first operand is `name`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
            and isinstance(getattr(np, func.attr, None), np.ufunc) and getattr(np, func.attr).nout == 1):
        return None
    if call.keywords or not call.args or not (isinstance(call.args[0], ast.Name) and call.args[0].id == name):
        return None
    if any(isinstance(n, ast.Name) and n.id == name for a in call.args[1:] for n in ast.walk(a)):
        return None
    return f"{ast.unparse(call)[:-1]}, out={name})"


def _other_operand(top: ast.BinOp, name: str, commutative: bool) -> ast.expr | None:
    """The operand beside `name` when `name` is the left one (or either, for a commutative operation)."""
    if isinstance(top.left, ast.Name) and top.left.id == name:
        return top.right
    if commutative and isinstance(top.right, ast.Name) and top.right.id == name:
        return top.left
    return None


def allocates(expression: str) -> bool:
    """Whether the expression's result is a new array (an arithmetic operation or a NumPy ufunc call), never
    a view of an operand."""
    try:
        top = ast.parse(expression.split(";")[0], mode="eval").body
    except SyntaxError:
        return False
    if isinstance(top, (ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(top, ast.Call) and isinstance(top.func, ast.Attribute) and isinstance(top.func.value, ast.Name):
        return top.func.value.id == "np" and isinstance(getattr(np, top.func.attr, None), np.ufunc)
    return False


def written_out(function: Callable, args: list[str], kwargs: dict[str, str],
                namespace: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(expression, the names it needs) for function(*args, **kwargs) written out, or None if it cannot be."""
    found = _template(function)
    if found is None:
        return None
    template, parameters, needed = found
    if len(args) > len(parameters) or set(kwargs) - set(parameters):
        return None
    defaults = dict(zip(parameters[len(parameters) - len(function.__defaults__ or ()):], function.__defaults__ or ()))
    texts = dict(zip(parameters, args))
    for name in parameters[len(args):]:
        if name in kwargs:
            texts[name] = kwargs[name]
        elif name in defaults and isinstance(defaults[name], _LITERAL_TYPES):
            texts[name] = repr(defaults[name])
        else:
            return None
    if any(namespace.get(name, value) is not value for name, value in needed.items()):
        return None  # a name the expression needs means something else in this program
    for i, name in enumerate(parameters):
        template = template.replace(f"__p{i}__", _grouped(texts[name]))
    return template, needed


def _grouped(text: str) -> str:
    """An operand's text as it may stand inside any expression (a negative number or a tuple in parentheses)."""
    return text if text.isidentifier() or text.replace(".", "", 1).isdigit() else f"({text})"


@functools.lru_cache(maxsize=4096)
def _template(function: Callable) -> tuple[str, tuple[str, ...], dict[str, Any]] | None:
    """The lambda's expression with its parameters as placeholders __p0__, __p1__, ..., the parameters, and the
    free names it needs (a primitive's call as its forward); None when it cannot be written out."""
    node = _lambda_of(function)
    if node is None or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
        return None
    parameters = tuple(a.arg for a in node.args.args)
    placeholders = {name: ast.Name(f"__p{i}__", ast.Load()) for i, name in enumerate(parameters)}
    needed: dict[str, Any] = {}
    try:
        body = _Rewriter(placeholders, function.__globals__, {}, needed).visit(_copy(node.body))
    except _CannotInline:
        return None
    return ast.unparse(body), parameters, needed


class _CannotInline(Exception):
    pass


class _Rewriter(ast.NodeTransformer):
    """Parameters → the program's names; primitives → their forwards; other free names → bound as they are."""

    def __init__(self, values: dict, globals_: dict, namespace: dict, needed: dict) -> None:
        self.values, self.globals, self.namespace, self.needed = values, globals_, namespace, needed

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id not in self.values:
            target = self.globals.get(node.func.id)
            if isinstance(target, Primitive) and not target.promotes and not target.residual:
                name = f"{target.name}_forward"
                self._bind(name, target.forward)
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                node.func = ast.Name(name, ast.Load())
                return node
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.values:
            return _copy(self.values[node.id])
        if node.id not in self.globals:
            raise _CannotInline(node.id)
        self._bind(node.id, self.globals[node.id])
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        raise _CannotInline("nested lambda")

    def _bind(self, name: str, value: Any) -> None:
        present = self.namespace.get(name, self.needed.get(name, value))
        if present is not value:
            raise _CannotInline(name)
        self.needed[name] = value


def _copy(node: ast.AST) -> Any:
    return ast.parse(ast.unparse(node), mode="eval").body


@functools.lru_cache(maxsize=None)
def _lambdas_of_file(path: str) -> dict[int, list[ast.Lambda]]:
    try:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError):
        return {}
    found: dict[int, list[ast.Lambda]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            found.setdefault(node.lineno, []).append(node)
    return found


def _lambda_of(function: Callable) -> ast.Lambda | None:
    """The AST of `function` if it is a lambda without a closure, found by its file and line."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_name != "<lambda>" or getattr(function, "__closure__", None):
        return None
    try:
        path = inspect.getsourcefile(function)
    except TypeError:
        return None
    if path is None:
        return None
    names = list(code.co_varnames[:code.co_argcount])
    matches = [node for node in _lambdas_of_file(path).get(code.co_firstlineno, [])
               if [a.arg for a in node.args.args] == names]
    return matches[0] if len(matches) == 1 else None
