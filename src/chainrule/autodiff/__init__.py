"""The engine: reverse- and forward-mode automatic differentiation over NumPy arrays.

tensor.py (Tensor, Primitive), rules.py (the table of derivative rules), backward.py (the reverse sweep),
forward.py (forward mode), functional.py (grad, vjp, jvp, jacobian, ...), check.py (gradcheck, anomalies).
"""
from .backward import gradients, topological_order
from .check import GradcheckError, detect_anomaly, gradcheck
from .functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .rules import (
    abs, add, astype, broadcast_to, clip, concatenate, cos, div, dot, einsum, exp, expand_dims, expm1, flatten,
    getitem, leaky_relu, linear, log, log1p, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, mul,
    neg, outer, power, prod, relu, reshape, sigmoid, sign, sin, softmax, softmax_cross_entropy, softplus, split, sqrt,
    square, squeeze, stack, std, sub, sum, swapaxes, tan, tanh, transpose, var, where,
)
from .tensor import Primitive, Tensor, enable_grad, is_grad_enabled, no_grad, tensor

__all__ = [
    "GradcheckError", "Primitive", "Tensor", "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos",
    "detect_anomaly", "div", "dot", "einsum", "enable_grad", "exp", "expand_dims", "expm1", "flatten", "getitem",
    "grad", "gradcheck", "gradients", "hessian", "hvp", "is_grad_enabled", "jacobian", "jvp", "leaky_relu",
    "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mul", "neg", "no_grad", "outer", "power", "prod", "relu", "reshape", "sigmoid", "sign", "sin", "softmax",
    "softmax_cross_entropy", "softplus", "split", "sqrt", "square", "squeeze", "stack", "std", "sub", "sum",
    "swapaxes", "tan", "tanh", "tensor", "topological_order", "transpose", "value_and_grad", "var", "vjp",
    "where",
]
