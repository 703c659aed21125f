"""chainrule: back-propagation you can run, see and trust.

The engine (reverse- and forward-mode automatic differentiation over NumPy) is re-exported here;
networks live in chainrule.nn, optimisers in chainrule.optim, explanations in chainrule.explain.
"""
from .autodiff import *  # noqa: F403 - the engine's public names
from .autodiff import __all__ as _engine_names
from .io import load, save

__version__ = "0.1.0"
__all__ = [*_engine_names, "load", "save", "__version__"]
