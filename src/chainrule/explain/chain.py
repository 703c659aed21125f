"""The chain rule for one expression: parse it safely, split it into elementary steps, sweep forward and back.

`explain_chain("exp(sin(x**2))", {"x": 0.7})` lists the steps with their values, the reverse sweep of adjoints
and one forward-mode sweep per variable, all computed by chainrule's engine and checked by hand and against
central finite differences. The parser reads Python syntax with `ast` and a whitelist; it never calls eval.
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import autodiff as ad
from ..autodiff import rules
from ..autodiff.tensor import Primitive
from ..numeric import central_difference

MAX_LENGTH = 300  # characters
MAX_DEPTH = 30  # nesting of operations and parentheses
MAX_STEPS = 120  # elementary steps after removing repeats


_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class ExpressionError(ValueError):
    """The text is not an expression that `chain` accepts (with the reason and what is allowed)."""


# ------------------------------------------------------------------ the rules: one line per elementary function
@dataclass(frozen=True)
class FunctionRule:
    """A one-argument function: chainrule's primitive and its derivative as text for the printout (u: the argument).

    The derivative's *value* is never written here: it comes from the primitive's own rule in
    chainrule.autodiff.rules (the one table of derivatives), so the printout and the engine cannot drift apart.
    """
    compute: Primitive  # chainrule's own function (works on Tensors and on plain numbers)
    derivative_text: str  # with {u} for the argument


FUNCTIONS: dict[str, FunctionRule] = {
    "exp": FunctionRule(ad.exp, "exp({u})"),
    "log": FunctionRule(ad.log, "1/{u}"),
    "log1p": FunctionRule(ad.log1p, "1/(1 + {u})"),
    "expm1": FunctionRule(ad.expm1, "exp({u})"),
    "sqrt": FunctionRule(ad.sqrt, "1/(2·sqrt({u}))"),
    "square": FunctionRule(ad.square, "2·{u}"),
    "sin": FunctionRule(ad.sin, "cos({u})"),
    "cos": FunctionRule(ad.cos, "−sin({u})"),
    "tan": FunctionRule(ad.tan, "1 + tan({u})²"),
    "tanh": FunctionRule(ad.tanh, "1 − tanh({u})²"),
    "sigmoid": FunctionRule(ad.sigmoid, "sigmoid({u})·(1 − sigmoid({u}))"),
    "softplus": FunctionRule(ad.softplus, "sigmoid({u})"),
    "relu": FunctionRule(ad.relu, "(1 if {u} > 0 else 0)"),
    "abs": FunctionRule(ad.abs, "sign({u})"),
}
OPERATORS: dict[str, Primitive] = {"add": rules.add_p, "sub": rules.sub_p, "mul": rules.mul_p, "div": rules.div_p,
                                   "pow": rules.power_p, "neg": rules.neg_p,
                                   "max": rules.maximum_p, "min": rules.minimum_p}  # max(a, b) and min(a, b)
TWO_ARGUMENTS = ("max", "min")  # functions of two arguments (the others in FUNCTIONS take one)
CONSTANTS = {"pi": math.pi}
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_SYMBOL = {"add": "+", "sub": "−", "mul": "·", "div": "/", "pow": "^"}
ALLOWED = ("operators + - * / ** and unary -, numbers, variables, the functions " + ", ".join(FUNCTIONS)
           + " and max(a, b), min(a, b)")


# ------------------------------------------------------------------ parsing: text → a small tree
@dataclass(frozen=True)
class Node:
    """A node of the parsed expression: kind is 'var', 'const', an operator name or a function name."""
    kind: str
    args: tuple[Node, ...] = ()
    name: str = ""  # the variable's name
    value: float = 0.0  # the constant's value


def parse_expression(text: str) -> Node:
    """The expression tree of `text`, refusing anything outside the whitelist (never evaluates Python)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty; write one such as exp(sin(x**2))")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    hidden = _INVISIBLE.search(text)
    if hidden:
        raise ExpressionError(f"the expression holds the invisible character U+{ord(hidden.group()):04X} at column "
                              f"{hidden.start() + 1}; type it again without it")
    if "#" in text:
        raise ExpressionError("'#' would start a comment; an expression has none (remove it and what follows)")
    depth = deepest = 0
    for char in text:  # checked before ast.parse, so that the parser itself never recurses deeply
        depth += char in "([{"
        depth -= char in ")]}"
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ExpressionError(f"the expression nests {deepest} parentheses deep; the limit is {MAX_DEPTH}")
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:  # Python's offset is 1-based; 0 (or past the text) means the text ended early
        where = f"column {error.offset}" if 0 < (error.offset or 0) <= len(source) else "the end"
        raise ExpressionError(f"not a valid expression ({error.msg} at {where})") from None
    return _convert(tree.body, 1)


def _convert(node: ast.AST, depth: int) -> Node:
    """One node of Python's syntax tree as an expression Node, by the kind of syntax (anything else is refused)."""
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the expression nests more than {MAX_DEPTH} operations deep")
    convert = _CONVERTERS.get(type(node))
    if convert is not None:
        return convert(node, depth)
    if isinstance(node, ast.Attribute):
        raise ExpressionError(f"attribute access ('{ast.unparse(node)}') is not allowed; allowed: {ALLOWED}")
    if isinstance(node, ast.Compare):
        raise ExpressionError(f"comparisons are not allowed; allowed: {ALLOWED}")
    raise ExpressionError(f"'{ast.unparse(node)[:40]}' ({type(node).__name__}) is not allowed; allowed: {ALLOWED}")


def _convert_constant(node: ast.Constant, depth: int) -> Node:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{value!r} is not a real number; only numbers, variables and {ALLOWED}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpressionError(f"the number {str(value)[:20]} is too large")
    return Node("const", value=number)


def _convert_name(node: ast.Name, depth: int) -> Node:
    if node.id in CONSTANTS:
        return Node("const", value=CONSTANTS[node.id])
    if node.id in FUNCTIONS:
        raise ExpressionError(f"'{node.id}' is a function: call it, e.g. {node.id}(x)")
    if node.id.startswith("_"):
        raise ExpressionError(f"variable names may not start with '_' ('{node.id}')")
    return Node("var", name=node.id)


def _convert_binary(node: ast.BinOp, depth: int) -> Node:
    if type(node.op) not in _BINARY:
        raise ExpressionError(f"operator '{_operator_text(node.op)}' is not allowed; allowed: {ALLOWED}")
    return _fold(Node(_BINARY[type(node.op)], (_convert(node.left, depth + 1), _convert(node.right, depth + 1))))


def _convert_unary(node: ast.UnaryOp, depth: int) -> Node:
    if isinstance(node.op, ast.UAdd):
        return _convert(node.operand, depth + 1)
    if isinstance(node.op, ast.USub):
        return _fold(Node("neg", (_convert(node.operand, depth + 1),)))
    raise ExpressionError(f"operator '{_operator_text(node.op)}' is not allowed; allowed: {ALLOWED}")


def _convert_call(node: ast.Call, depth: int) -> Node:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(f"only plain function names can be called ('{ast.unparse(node.func)}' is not one);"
                              f" allowed: {', '.join(FUNCTIONS)}")
    name = node.func.id
    if name not in FUNCTIONS and name not in TWO_ARGUMENTS:
        raise ExpressionError(f"unknown function '{name}'; allowed: {', '.join((*FUNCTIONS, *TWO_ARGUMENTS))}")
    count = 2 if name in TWO_ARGUMENTS else 1
    if node.keywords or len(node.args) != count or any(isinstance(a, ast.Starred) for a in node.args):
        example = f"{name}(x, y)" if count == 2 else f"{name}(x)"
        raise ExpressionError(f"{name}() takes exactly {'two arguments' if count == 2 else 'one argument'}, "
                              f"e.g. {example}")
    return _fold(Node(name, tuple(_convert(a, depth + 1) for a in node.args)))


_CONVERTERS: dict[type, Callable[[Any, int], Node]] = {
    ast.Constant: _convert_constant, ast.Name: _convert_name, ast.BinOp: _convert_binary,
    ast.UnaryOp: _convert_unary, ast.Call: _convert_call,
}


def _operator_text(op: ast.AST) -> str:
    return {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}.get(
        type(op), type(op).__name__)


def _fold(node: Node) -> Node:
    """A step whose arguments are all numbers is a number: compute it now (it has no derivative to show)."""
    if all(a.kind == "const" for a in node.args):
        with np.errstate(all="ignore"):
            value = float(_apply(node.kind, [np.float64(a.value) for a in node.args]))
        if not math.isfinite(value):
            raise ExpressionError(f"the constant part {_describe(node)} is not a finite real number")
        return Node("const", value=value)
    return node


def _apply(kind: str, args: list) -> object:
    """One elementary operation, by chainrule's operators and functions (Tensors or numbers)."""
    if kind in FUNCTIONS:
        return FUNCTIONS[kind].compute(args[0])
    a = args[0]
    if kind == "neg":
        return -a
    b = args[1]
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
            "pow": lambda: a ** b, "max": lambda: ad.maximum(a, b), "min": lambda: ad.minimum(a, b)}[kind]()


def _describe(node: Node) -> str:
    if node.kind == "const":
        return _num(node.value)
    if node.kind == "var":
        return node.name
    if node.kind == "neg":
        return f"−{_describe(node.args[0])}"
    if node.kind in _SYMBOL:
        return f"({_describe(node.args[0])} {_SYMBOL[node.kind]} {_describe(node.args[1])})"
    return f"{node.kind}({', '.join(_describe(a) for a in node.args)})"


def _num(value: float) -> str:
    """A number with 8 significant digits, written plainly."""
    text = f"{value:.8g}"
    return text.replace("-", "−") if text.startswith("-") else text


# ------------------------------------------------------------------ the elementary steps (a Wengert list)
@dataclass
class Partial:
    """∂step/∂arg: which argument, the derivative as text, and its value at the point."""
    arg: str
    text: str
    value: float


@dataclass
class Step:
    """name = op(args): one elementary operation, its value, and its local partial derivatives."""
    name: str
    kind: str
    args: tuple[str, ...]  # names of variables or earlier steps, or numbers written out (for display only)
    formula: str
    operands: tuple[str | float, ...] = ()  # the same, constants carried exactly (what is computed with)
    value: float = math.nan
    partials: list[Partial] = field(default_factory=list)


@dataclass
class ChainExplanation:
    """The steps of one expression, its reverse sweep and its forward sweeps, every number checked."""
    expression: str
    point: dict[str, float]
    steps: list[Step]
    adjoints: dict[str, float]  # v̄ = ∂y/∂v for every step and variable
    tangents: dict[str, dict[str, float]]  # tangents[x][v] = v̇ in the sweep seeded with ẋ = 1
    gradient: dict[str, float]  # ∂y/∂x for each variable
    finite_differences: dict[str, float]
    step_size: dict[str, float]
    root: ad.Tensor = field(repr=False)  # the engine's graph, kept so it can be drawn
    names: dict[str, ad.Tensor] = field(repr=False)
    difference_notes: dict[str, str] = field(default_factory=dict)  # why a variable's check was not made, or ""
    difference_agrees: dict[str, bool] = field(default_factory=dict)  # the verdict of each check

    @property
    def variables(self) -> list[str]:
        return list(self.point)

    @property
    def output(self) -> str:
        return self.steps[-1].name

    def agrees_with_finite_differences(self) -> dict[str, bool]:
        """For each variable: |AD − FD| ≤ 1e-6·max(1, |AD|) + the difference's rounding error (false at a kink
        such as relu at 0; true where no difference could be formed, which is not a disagreement)."""
        return dict(self.difference_agrees)

    def graph(self) -> object:
        """The engine's graph of this expression as a drawing, nodes named as in the steps."""
        from ..viz.graph import draw_graph

        return draw_graph(self.root, names=self.names)

    def to_text(self) -> str:
        """The explanation as plain text (Unicode), the way `chainrule chain` prints it."""
        return _render_text(self)


def _names_for(variables: list[str], count: int) -> tuple[str, str]:
    """A prefix for intermediate steps and a name for the output that clash with no variable."""
    taken = set(variables)
    prefix = next((p for p in ("v", "u", "s", "h", "q") if not any(f"{p}{i}" in taken for i in range(1, count + 1))),
                  None)
    output = next((o for o in ("y", "f", "F", "out") if o not in taken), None)
    if prefix is None or output is None:
        raise ExpressionError("rename the variables: names such as v1, u1, s1, h1, q1, y, f are needed for the steps")
    return prefix, output


def _post_order(root: Node) -> tuple[list[str], list[Node]]:
    """(variables in order of appearance, operations with each one after its arguments, each distinct one once)."""
    variables: list[str] = []
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # iterative, so a deep expression cannot exhaust Python's stack
        node, done = stack.pop()
        if node.kind == "var":
            if node.name not in variables:
                variables.append(node.name)
        elif node.kind != "const" and node not in seen:
            if done:
                seen.add(node)
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
    return variables, order


def elementary_steps(root: Node) -> tuple[list[str], list[Step]]:
    """(variables in order of appearance, steps in evaluation order); a repeated sub-expression is one step."""
    if root.kind == "const":
        raise ExpressionError("the expression has no variable, so there is nothing to differentiate")
    if root.kind == "var":
        raise ExpressionError(f"the expression is just the variable '{root.name}' (its derivative is 1); "
                              f"give one with at least one operation, e.g. sin({root.name})")
    variables, order = _post_order(root)
    if len(order) > MAX_STEPS:
        raise ExpressionError(f"the expression has {len(order)} elementary steps; the limit is {MAX_STEPS}")
    prefix, output = _names_for(variables, len(order))
    label: dict[Node, str] = {}
    steps = []
    for i, node in enumerate(order):
        label[node] = output if node is order[-1] else f"{prefix}{i + 1}"
        operands = tuple(label[a] if a in label else (a.name if a.kind == "var" else a.value) for a in node.args)
        args = tuple(_num(a) if isinstance(a, float) else a for a in operands)
        steps.append(Step(label[node], node.kind, args, _formula(node.kind, args), operands))
    return variables, steps


def _formula(kind: str, args: tuple[str, ...]) -> str:
    superscripts = {"2": "²", "3": "³"}
    if kind == "pow" and args[1] in superscripts:
        return f"{args[0]}{superscripts[args[1]]}"
    if kind in _SYMBOL:
        return f"{args[0]} {_SYMBOL[kind]} {args[1]}" if kind != "pow" else f"{args[0]}^{args[1]}"
    if kind == "neg":
        return f"−{args[0]}"
    return f"{kind}({', '.join(args)})"


def _is_name(arg: str | float) -> bool:
    return isinstance(arg, str)


def _primitive(kind: str) -> Primitive:
    return FUNCTIONS[kind].compute if kind in FUNCTIONS else OPERATORS[kind]


def _rule_value(kind: str, index: int, inputs: list, dtype: type = np.float64) -> float:
    """∂step/∂(input `index`) at `inputs`, from the primitive's vjp rule with ḡ = 1 (the engine's own rule)."""
    primitive = _primitive(kind)
    inputs = [dtype(v) for v in inputs]
    with np.errstate(all="ignore"):
        y = primitive.forward(*inputs)
        return primitive.vjp_rule(index)(dtype(1.0), y, *inputs)


def _partial_texts(step: Step) -> list[str]:
    """The hand-written local derivative of the step with respect to each argument (the teaching formula)."""
    kind, args = step.kind, step.args
    if kind in FUNCTIONS:
        return [FUNCTIONS[kind].derivative_text.format(u=args[0])]
    if kind == "neg":
        return ["−1"]
    na, nb = args
    if kind in TWO_ARGUMENTS:  # the winner takes ḡ; a tie splits it (the engine's convention)
        wins = ">" if kind == "max" else "<"
        return [f"(1 if {na} {wins} {nb}, ½ if equal, else 0)", f"(1 if {nb} {wins} {na}, ½ if equal, else 0)"]
    return {"add": ["1", "1"], "sub": ["1", "−1"], "mul": [nb, na], "div": [f"1/{nb}", f"−{na}/{nb}²"],
            "pow": [_power_rule_text(step.operands[0], step.operands[1]), f"ln({na})·{na}^{nb}"]}[kind]


def _local_partials(step: Step, values: dict[str, float]) -> list[Partial]:
    """∂step/∂arg for each argument that is a variable or a step: the rule's text and its value."""
    inputs = [values[a] if _is_name(a) else a for a in step.operands]
    return [Partial(arg, text, float(_rule_value(step.kind, i, inputs)))
            for i, (arg, text) in enumerate(zip(step.args, _partial_texts(step))) if _is_name(step.operands[i])]


def _power_rule_text(base: str | float, exponent: str | float) -> str:
    """d(a^b)/da = b·a^(b−1), simplified when b is a number."""
    base = base if _is_name(base) else _num(base)
    if _is_name(exponent):
        return f"{exponent}·{base}^({exponent} − 1)"
    if exponent == 2:
        return f"2·{base}"
    if exponent == 1:
        return "1"
    return f"{_num(exponent)}·{base}^{_num(exponent - 1)}"


# ------------------------------------------------------------------ the sweeps
def explain_chain(expression: str, at: Mapping[str, float]) -> ChainExplanation:
    """Steps, adjoints v̄ = ∂y/∂v (one reverse sweep), tangents v̇ = ∂v/∂x (one forward sweep per x), checked."""
    tree = parse_expression(expression)
    variables, steps = elementary_steps(tree)
    point = _check_point(variables, at)

    tensors = _forward_pass(steps, variables, point)
    root = tensors[steps[-1].name]
    with np.errstate(all="ignore"):
        root.backward(retain_graph=True)  # keep the graph: it can still be drawn, with its gradients

    adjoints = _reverse_sweep(steps, variables)
    tangents = {x: _forward_sweep(steps, variables, x) for x in variables}
    _refuse_overflow(adjoints, tangents, steps[-1].name, point)
    _check_against_engine(steps, variables, tensors, adjoints, tangents, point)

    gradient = {x: adjoints[x] for x in variables}
    differences = {x: _difference_check(tree, point, x, gradient[x]) for x in variables}
    return ChainExplanation(expression.strip(), point, steps, adjoints, tangents, gradient,
                            {x: d.value for x, d in differences.items()}, {x: d.h for x, d in differences.items()},
                            root, dict(tensors), {x: d.note for x, d in differences.items()},
                            {x: d.agrees for x, d in differences.items()})


def _forward_pass(steps: list[Step], variables: list[str], point: dict[str, float]) -> dict[str, ad.Tensor]:
    """Every step by the engine, each kept (retain_grad) so the reverse sweep's adjoints are visible; each step's
    value and local partials filled in, and a value or a local derivative that is not finite said in words."""
    tensors: dict[str, ad.Tensor] = {x: ad.tensor(point[x], requires_grad=True) for x in variables}
    with np.errstate(all="ignore"):  # a value that is not finite is reported below, by step
        for step in steps:
            result = _apply(step.kind, [tensors[a] if _is_name(a) else a for a in step.operands])
            tensors[step.name] = result.retain_grad()
    values = {name: float(t.data) for name, t in tensors.items()}
    for step in steps:
        step.value = values[step.name]
        if not math.isfinite(step.value):
            what = ("not a real number (NaN)" if math.isnan(step.value)
                    else f"{'' if step.value > 0 else '−'}∞ in float64 (infinite, or too large for a float64)")
            raise ExpressionError(f"{step.name} = {step.formula} is {what} at {_point_text(point)}: "
                                  "the expression is not a finite real number there")
        step.partials = _local_partials(step, values)
        _refuse_infinite_partials(step, values, point)
    return tensors


class UndefinedDerivativeError(ExpressionError):
    """A local derivative is infinite, undefined or beyond float64 at the point (said in words, not a traceback)."""


def _refuse_infinite_partials(step: Step, values: dict[str, float], point: dict[str, float]) -> None:
    """Raise UndefinedDerivativeError naming the first local derivative of `step` that is not a finite number."""
    inputs = [values[a] if _is_name(a) else a for a in step.operands]
    for index, (operand, text) in enumerate(zip(step.operands, _partial_texts(step))):
        value = float(_rule_value(step.kind, index, inputs)) if _is_name(operand) else 0.0
        if math.isfinite(value):
            continue
        names = [a for a in dict.fromkeys(step.operands) if _is_name(a)]
        where = ", ".join(f"{a} = {_num(values[a])}" for a in names)
        if any(a not in point for a in names):
            where += f" (that is, at {_point_text(point)})"
        wide = _rule_value(step.kind, index, inputs, np.longdouble)  # where long double reaches beyond 1e308
        if math.isnan(value):
            what = "undefined (not a real number)"
        elif np.isfinite(wide):
            wide_text = np.format_float_scientific(wide, precision=7, trim="-").replace("-", "−", 1)
            what = f"too large for a float64 (about {wide_text}; floats end at 1.8e+308)"
        else:
            what = "infinite" if value > 0 else "infinite (−∞)"
        raise UndefinedDerivativeError(
            f"d/d{operand} {step.formula} = {text} is {what} at {where}: the chain rule needs every local "
            f"derivative to be a finite number, so the derivative cannot be carried through {step.name} there")


def _refuse_overflow(adjoints: dict[str, float], tangents: dict[str, dict[str, float]], output: str,
                     point: dict[str, float]) -> None:
    """Finite local derivatives whose products overflow in either sweep: said in words, not shown as ∞ or NaN."""
    sweeps = [(f"∂{output}/∂{name}", value) for name, value in adjoints.items()]
    sweeps += [(f"∂{name}/∂{x}", value) for x, values in tangents.items() for name, value in values.items()]
    for what, value in sweeps:
        if not math.isfinite(value):
            raise UndefinedDerivativeError(
                f"{what} at {_point_text(point)} is a product of finite local derivatives, but the product is "
                f"{'not a number' if math.isnan(value) else 'too large for a float64'} (floats end at 1.8e+308)")


def _kink_check(along: Callable[[float], float], h: float, value: float, derivative: float) -> _Difference:
    """A central difference that disagrees may straddle a kink (relu or abs at 0): there the slopes from the left
    and from the right differ by an amount that does not shrink with h. The engine then returns one of them (its
    convention, e.g. relu′(0) = 0 as in PyTorch), which is right, and the central difference is their average."""
    def slopes(step: float) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            return (along(0.0) - along(-step)) / step, (along(step) - along(0.0)) / step

    (left, right), (left_half, right_half) = slopes(h), slopes(h / 2)
    gap, gap_half = abs(right - left), abs(right_half - left_half)
    is_kink = gap > 1e-4 * max(1.0, abs(derivative)) and gap_half > 0.75 * gap
    tolerance = 1e-6 * max(1.0, abs(derivative))
    if is_kink and min(left, right) - tolerance <= derivative <= max(left, right) + tolerance:
        note = (f"agree: a kink (slope {_num(left)} from the left, {_num(right)} from the right); the engine takes "
                f"{_num(derivative)}, one of the two, by convention (e.g. relu′(0) = 0, as PyTorch does)")
        return _Difference(value, h, True, note)
    return _Difference(value, h, False, "")


@dataclass(frozen=True)
class _Difference:
    value: float  # the central difference (NaN when it could not be formed)
    h: float  # the step used
    agrees: bool  # True also when the difference could not be formed (that is not a disagreement)
    note: str  # why it was not checked, or ""


def _difference_check(tree: Node, point: dict[str, float], x: str, derivative: float) -> _Difference:
    """The central difference of y along x, from the parsed expression itself (not the steps or the printout).

    A step h agrees when |AD − FD| ≤ 1e-6·max(1, |AD|) plus the difference's own errors: rounding, ≈ 4ε·|y|/h,
    which dominates for a large y (x + 123456789), and truncation, estimated by halving h (exp(x) at 709.7).
    Steps h₀ = 1e-5·max(1, |x|), h₀/10 and h₀/100 are tried (and 1e-5·|x| for a small x). A disagreement is
    reported only where a difference has settled (halving h hardly changes it) — or as a kink, where the
    slopes from the two sides differ; where y is not finite at x ± h, or no difference settles (y varies too
    fast for these steps), the check is reported as not made, which is not a disagreement.
    """
    def along(s: float) -> float:
        return _evaluate(tree, {**point, x: point[x] + s})

    first = 1e-5 * max(1.0, abs(point[x]))
    steps = [first, first / 10, first / 100] + ([1e-5 * abs(point[x])] if 0 < abs(point[x]) < 1 else [])
    settled = []
    for h in steps:
        value, agrees, steady = _one_difference(along, h, derivative)
        if agrees:
            return _Difference(value, h, True, "")
        if steady:
            settled.append((h, value))
    if settled:
        h, value = settled[0]
        verdict = _kink_check(along, h, value, derivative)
        if all(along(s) == along(0.0) for s in (-h, h)):
            return _Difference(value, h, True, f"not checked: y does not change at all in float64 over {x} ± h "
                               "(a step this small is lost beside a much larger number inside the expression)")
        if verdict.agrees or (_nearly_linear(along, h) and _nearly_linear(along, h / 2)):
            return verdict
        return _Difference(value, h, True, f"not checked: y is far from a straight line over {x} ± h for every "
                           "step tried (it varies too fast at this point, e.g. a sine of a huge number)")
    if all(not math.isfinite(_one_difference(along, h, derivative)[0]) for h in steps):
        return _Difference(math.nan, first, True, f"not checked: y is not a finite number at {x} ± h for the "
                           "steps tried (an overflow, or the edge of its domain)")
    return _Difference(central_difference(along, first), first, True, "not checked: the central differences do "
                       "not settle as h shrinks (y varies too fast, or is too large, for steps of this size)")


def _nearly_linear(along: Callable[[float], float], h: float) -> bool:
    """Whether y is close to a straight line over [−h, h]: the second difference is small beside the first."""
    with np.errstate(all="ignore"):
        before, here, after = along(-h), along(0.0), along(h)
    first, second = abs(after - before), abs(after - 2 * here + before)
    return second <= 0.1 * first or second <= 4 * np.finfo(np.float64).eps * max(abs(before), abs(here), abs(after))


def _one_difference(along: Callable[[float], float], h: float, derivative: float) -> tuple[float, bool, bool]:
    """(D(h), whether it agrees with the derivative within its error estimate, whether it has settled)."""
    with np.errstate(all="ignore"):
        value, half = central_difference(along, h), central_difference(along, h / 2)
        ends = max(abs(along(h)), abs(along(-h)))
    if not (math.isfinite(value) and math.isfinite(half)):
        return math.nan, False, False
    rounding = 4 * np.finfo(np.float64).eps * ends / (h / 2)
    truncation = 2 * abs(value - half)  # the O(h²) error is 4/3 of this difference; 2 leaves a margin
    agrees = abs(derivative - value) <= 1e-6 * max(1.0, abs(derivative)) + rounding + truncation
    steady = abs(value - half) <= 1e-6 * max(1.0, abs(value)) + rounding
    return value, agrees, steady


def _check_point(variables: list[str], at: Mapping[str, float]) -> dict[str, float]:
    missing = [x for x in variables if x not in at]
    if missing:
        raise ExpressionError(f"no value given for {', '.join(missing)}; add e.g. --at {missing[0]}=0.5")
    extra = [x for x in at if x not in variables]
    if extra:
        raise ExpressionError(f"{extra[0]!r} has a value but does not appear in the expression "
                              f"(its variables: {', '.join(variables)})")
    point = {}
    for x in variables:
        try:
            point[x] = float(at[x])
        except (TypeError, ValueError):
            raise ExpressionError(f"the value of {x} ({at[x]!r}) is not a number") from None
        if not math.isfinite(point[x]):
            raise ExpressionError(f"the value of {x} must be finite, got {at[x]}")
    return point


def _reverse_sweep(steps: list[Step], variables: list[str]) -> dict[str, float]:
    """ȳ = 1, then for each step from the last to the first: ū += v̄ · ∂v/∂u for each argument u."""
    adjoints = {step.name: 0.0 for step in steps} | {x: 0.0 for x in variables}
    adjoints[steps[-1].name] = 1.0
    for step in reversed(steps):
        for p in step.partials:
            adjoints[p.arg] += adjoints[step.name] * p.value
    return adjoints


def _forward_sweep(steps: list[Step], variables: list[str], seed: str) -> dict[str, float]:
    """ẋ = 1 for the seeded variable (0 for the others), then v̇ = Σ ∂v/∂u · u̇ for each step in order."""
    tangents = {x: float(x == seed) for x in variables}
    for step in steps:
        tangents[step.name] = sum(p.value * tangents[p.arg] for p in step.partials)
    return tangents


def _evaluate(node: Node, point: Mapping[str, float]) -> float:
    """y at a point, straight from the parsed expression on plain float64 numbers (no steps, no graph, no text)."""
    def value(n: Node) -> object:
        if n.kind == "const":
            return np.float64(n.value)
        if n.kind == "var":
            return np.float64(point[n.name])
        return _apply(n.kind, [value(a) for a in n.args])

    with np.errstate(all="ignore"):
        return float(value(node))


def _check_against_engine(steps: list[Step], variables: list[str], tensors: dict[str, ad.Tensor],
                          adjoints: dict[str, float], tangents: dict[str, dict[str, float]],
                          point: dict[str, float]) -> None:
    """The hand sweeps must equal the engine's reverse mode (.grad) and forward mode (jvp); raise if not."""
    for name, t in tensors.items():
        engine = 0.0 if t.grad is None else float(t.grad.data)
        _same(engine, adjoints[name], f"the adjoint of {name}", "reverse mode", point)

    def all_steps(*xs: ad.Tensor) -> ad.Tensor:
        values: dict[str, object] = dict(zip(variables, xs))
        for step in steps:
            values[step.name] = _apply(step.kind, [values[a] if _is_name(a) else a for a in step.operands])
        return ad.stack([values[s.name] * 1.0 for s in steps])

    primals = tuple(np.float64(point[x]) for x in variables)
    for x in variables:
        seeds = tuple(np.float64(x == v) for v in variables)
        with np.errstate(all="ignore"):
            _, engine_tangents = ad.jvp(all_steps, primals, seeds)
        for step, engine in zip(steps, np.asarray(engine_tangents, dtype=float)):
            _same(float(engine), tangents[x][step.name], f"the tangent of {step.name} (seed {x})", "forward mode",
                  point)


def _same(engine: float, by_hand: float, what: str, mode: str, point: dict[str, float]) -> None:
    """Raise unless the engine's number equals the hand sweep's; an overflow on one side only (the engine
    multiplies in another order) is said in words, as it is a float64 limit, not a wrong rule."""
    if math.isfinite(engine) != math.isfinite(by_hand):
        raise UndefinedDerivativeError(
            f"{what} at {_point_text(point)} is {_num(by_hand)} by hand but overflows to {engine} in the engine's "
            f"{mode} (the same product taken in another order): too close to the largest float64 to show")
    if not math.isclose(engine, by_hand, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"chain: {what} is {by_hand} by hand but {engine} by the engine's {mode}")


def _point_text(point: Mapping[str, float]) -> str:
    return ", ".join(f"{x} = {_num(v)}" for x, v in point.items())


# ------------------------------------------------------------------ the printout
BAR, DOT = "\u0304", "\u0307"  # combining macron (adjoint v̄) and dot above (tangent v̇)


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _bar(name: str) -> str:
    return name[0] + BAR + name[1:]


def _dot(name: str) -> str:
    return name[0] + DOT + name[1:]


LOCAL_RULES = {  # what each kind of gate does to the adjoint arriving from above, in words
    "add": "add: passes v̄ unchanged to each input (it distributes the gradient)",
    "sub": "subtract: passes v̄ to the first input and −v̄ to the second",
    "mul": "multiply: gives each input v̄ times the OTHER input (the inputs swap)",
    "div": "divide a/b: gives a v̄/b and b −v̄·a/b²",
    "pow": "power a^b: gives a v̄·b·a^(b−1) (and b, where it is a variable, v̄·ln(a)·a^b)",
    "neg": "negate: gives its input −v̄",
    "max": "max: routes v̄ to the larger input (the winner) and 0 to the other; a tie splits it ½ and ½",
    "min": "min: routes v̄ to the smaller input and 0 to the other; a tie splits it ½ and ½",
}


def _render_text(e: ChainExplanation) -> str:
    y, xs = e.output, e.variables
    lines = [f"{y} = {e.expression}   at {_point_text(e.point)}", ""]
    lines += [f"Legend: each step applies one elementary operation. Adjoint v̄ = ∂{y}/∂v: how much the output",
              f"{y} changes per unit change of v (reverse mode). Tangent v̇ = ∂v/∂x: how much v changes per unit",
              "change of the input x (forward mode).", ""]
    lines.append("Forward pass: the elementary steps and their values")
    rows = [(f"{x}", "", "=", _num(e.point[x]), "(input)") for x in xs]
    rows += [(s.name, f"= {s.formula}", "=", _num(s.value), "") for s in e.steps]
    lines += _table(rows)
    lines += _reverse_section(e)
    for x in xs:
        lines += _forward_section(e, x)
    chain = _chain_product(e)
    if chain:
        lines += ["The chain rule read from the outside in (each factor is one step's local derivative):",
                  f"  d{y}/d{xs[0]} = {chain}", ""]
    return "\n".join(lines + _result_section(e) + _cost_section(e))


def _reverse_section(e: ChainExplanation) -> list[str]:
    """The one reverse sweep: each adjoint as the sum over the steps that use the value (fan-out adds)."""
    y = e.output
    lines = ["", f"Reverse mode: ONE sweep from {y} back to the inputs, reading the stored values above",
             f"  {_bar(y)} = 1   (∂{y}/∂{y})"]
    consumers: dict[str, list[tuple[Step, Partial]]] = {}
    for s in e.steps:
        for p in s.partials:
            consumers.setdefault(p.arg, []).append((s, p))
    rows, fan_out = [], []
    for name in [s.name for s in reversed(e.steps[:-1])] + e.variables:
        uses = consumers.get(name, [])
        if not uses:
            rows.append((_bar(name), "= 0", f"({name} is not used)", ""))
            continue
        symbolic = " + ".join(f"{_bar(s.name)}·{_paren(p.text)}" for s, p in uses)
        numeric = " + ".join(f"{_paren(_num(e.adjoints[s.name]))}·{_paren(_num(p.value))}" for s, p in uses)
        rows.append((_bar(name), f"= {symbolic}", f"= {numeric}", f"= {_num(e.adjoints[name])}"))
        if len(uses) > 1:
            fan_out.append(f"  {name} is used {len(uses)} times, so {_bar(name)} is the SUM of {len(uses)} shares "
                           f"(gradients add where a value fans out): {_num(e.adjoints[name])}")
    lines += _table(rows)
    if fan_out:
        lines += [""] + fan_out
    return lines + _local_rules(e.steps) + [""]


def _local_rules(steps: list[Step]) -> list[str]:
    """The rule of each kind of step the expression uses, in words (add distributes, multiply swaps, ...)."""
    kinds = [kind for kind in LOCAL_RULES if any(s.kind == kind for s in steps)]
    functions = sorted({s.kind for s in steps if s.kind in FUNCTIONS})
    if not (kinds or functions):
        return []
    lines = ["", "Local rules used (each step hands its adjoint v̄ to its inputs):"]
    lines += [f"  {LOCAL_RULES[kind]}" for kind in kinds]
    if functions:
        lines.append(f"  function f(u) ({', '.join(functions)}): gives u v̄·f′(u)")
    return lines


def _forward_section(e: ChainExplanation, x: str) -> list[str]:
    """One forward-mode sweep, seeded with ẋ = 1: each tangent as Σ ∂v/∂u · u̇."""
    xs, y = e.variables, e.output
    others = ", ".join(f"{_dot(v)} = 0" for v in xs if v != x)
    lines = [f"Forward mode, sweep {xs.index(x) + 1} of {len(xs)}: seed {_dot(x)} = 1"
             + (f" ({others})" if others else "") + f", carry tangents forward to get ∂{y}/∂{x}"]
    rows = []
    for s in e.steps:
        if not s.partials:
            continue
        symbolic = " + ".join(f"{_paren(p.text)}·{_dot(p.arg)}" for p in s.partials)
        numeric = " + ".join(f"{_paren(_num(p.value))}·{_paren(_num(e.tangents[x][p.arg]))}" for p in s.partials)
        rows.append((_dot(s.name), f"= {symbolic}", f"= {numeric}", f"= {_num(e.tangents[x][s.name])}"))
    return lines + _table(rows) + [""]


def _result_section(e: ChainExplanation) -> list[str]:
    """Each partial derivative beside its central difference, computed from the expression independently."""
    rows = []
    for x in e.variables:
        if e.difference_notes.get(x):
            mark = e.difference_notes[x]
            difference = _num(e.finite_differences[x]) if math.isfinite(e.finite_differences[x]) else "—"
        else:
            mark = "agree" if e.difference_agrees[x] else "DISAGREE (a kink such as relu or abs at 0?)"
            difference = _num(e.finite_differences[x])
        rows.append((f"∂{e.output}/∂{x} = {_num(e.gradient[x])}",
                     f"reverse = forward = engine; central difference (h = {e.step_size[x]:.0e}):", difference, mark))
    return ["Result, checked"] + _table(rows)


def _cost_section(e: ChainExplanation) -> list[str]:
    n, k = len(e.variables), len(e.steps)
    if n == 1:
        return ["", (f"Cost: {k} elementary step{'s' if k > 1 else ''}. With one input both modes need one sweep. "
                     "With n inputs, reverse mode still needs"),
                "one sweep for all n partial derivatives, forward mode one sweep per input."]
    return ["", (f"Cost: {n} inputs, {k} elementary steps. Reverse mode: 1 forward pass + 1 reverse sweep gave "
                 f"all {n} partial derivatives."),
            (f"Forward mode needed {n} sweeps, one per input ({n}·{k} = {n * k} "
             "tangent steps). Many inputs (a network's weights) favour reverse mode.")]


def _paren(text: str) -> str:
    """Parentheses around a factor that is a sum, a product, a quotient or negative, so a product reads right."""
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        return text
    return f"({text})" if any(c in text for c in " +−/·") else text


def _chain_product(e: ChainExplanation) -> str:
    """For a chain (each step uses exactly one earlier value): dy/dx as the product of local derivatives."""
    if len(e.variables) != 1 or any(len(s.partials) != 1 for s in e.steps):
        return ""
    previous = e.variables[0]
    for s in e.steps:
        if s.partials[0].arg != previous:
            return ""
        previous = s.name
    factors = [_paren(s.partials[0].text) for s in reversed(e.steps)]
    numbers = [_paren(_num(s.partials[0].value)) for s in reversed(e.steps)]
    return f"{' · '.join(factors)} = {' · '.join(numbers)} = {_num(e.gradient[e.variables[0]])}"
