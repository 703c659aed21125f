"""chainrule: back-propagation you can run, see and trust.

The engine (reverse- and forward-mode automatic differentiation over NumPy) is re-exported here;
networks live in chainrule.nn, optimisers in chainrule.optim, explanations in chainrule.explain.
Every subpackage is reachable as an attribute after `import chainrule` (the light ones are imported
here, the others on first use); no line of this file depends on the order of the others.
"""
import importlib
from typing import Any

from . import autodiff as autodiff
from . import data as data
from . import nn as nn
from . import optim as optim
from .autodiff import *  # noqa: F403 - the engine's public names
from .autodiff import __all__ as _engine_names
from .io import load, save
from .viz import graph as _graph  # noqa: F401 - registers the drawer behind Tensor.graph()

__version__ = "0.1.0"
__all__ = [*_engine_names, "compile", "load", "save", "__version__"]

_ON_FIRST_USE = ("cli", "diagnose", "explain", "interop", "io", "sweep", "train", "viz", "web", "compiler")


def __getattr__(name: str) -> Any:
    """chainrule.explain, chainrule.train, ...: the subpackage, imported when first asked for."""
    if name == "compile":  # chainrule.compile, the function (its code is the subpackage chainrule.compiler)
        return importlib.import_module(".compiler", __name__).compile
    if name in _ON_FIRST_USE:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
