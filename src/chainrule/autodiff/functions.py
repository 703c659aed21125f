"""The functions users call, under NumPy's names: each primitive of the rule table as a function
(`sin` applies the primitive `rules.sin_p`), the composites, and `clip`. This is the one engine module where
`sum`, `max`, `min` and `abs` are defined under the builtins' names, as NumPy does; the engine's own code
uses the `_p` primitives and keeps the builtins intact.
"""
from __future__ import annotations

from typing import Any

from . import rules
from .rules import (
    broadcast_to,
    concatenate,
    dot,
    einsum,
    expand_dims,
    flatten,
    getitem,
    outer,
    reshape,
    split,
    squeeze,
    stack,
    std,
    swapaxes,
    transpose,
)
from .tensor import value_of

abs = rules.abs_p
add = rules.add_p
arctan = rules.arctan_p
astype = rules.astype_p
cos = rules.cos_p
div = rules.div_p
exp = rules.exp_p
expm1 = rules.expm1_p
leaky_relu = rules.leaky_relu_p
linear = rules.linear_p
log = rules.log_p
log1p = rules.log1p_p
log_softmax = rules.log_softmax_p
logsumexp = rules.logsumexp_p
matmul = rules.matmul_p
max = rules.max_p
maximum = rules.maximum_p
mean = rules.mean_p
min = rules.min_p
minimum = rules.minimum_p
mul = rules.mul_p
neg = rules.neg_p
power = rules.power_p
prod = rules.prod_p
relu = rules.relu_p
sigmoid = rules.sigmoid_p
sign = rules.sign_p
sin = rules.sin_p
softmax = rules.softmax_p
softmax_cross_entropy = rules.softmax_cross_entropy_p
softplus = rules.softplus_p
sqrt = rules.sqrt_p
square = rules.square_p
sub = rules.sub_p
sum = rules.sum_p
tan = rules.tan_p
tanh = rules.tanh_p
var = rules.var_p
where = rules.where_p


def clip(x: Any, min: Any = None, max: Any = None) -> Any:
    """x limited to [min, max]; the gradient passes where min ≤ x ≤ max."""
    return rules.clip_p(x, low=value_of(min), high=value_of(max))


__all__ = [
    "abs", "add", "arctan", "astype", "broadcast_to", "clip", "concatenate", "cos", "div", "dot", "einsum", "exp",
    "expand_dims", "expm1", "flatten", "getitem", "leaky_relu", "linear", "log", "log1p", "log_softmax",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "outer", "power", "prod",
    "relu", "reshape", "sigmoid", "sign", "sin", "softmax", "softmax_cross_entropy", "softplus", "split", "sqrt",
    "square", "squeeze", "stack", "std", "sub", "sum", "swapaxes", "tan", "tanh", "transpose", "var", "where",
]
