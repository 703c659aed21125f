"""The libraries under test: the NumPy reference, chainrule, and whichever peers import.

`load_adapters` returns those that loaded and, for the rest, why not; nothing fails when a peer is missing.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from .base import Adapter, Unavailable

#: name -> "module:Class"; the reference comes first, then chainrule, then peers.
REGISTRY: dict[str, str] = {
    "numpy": "benchmarks.reference:NumpyReference",
    "chainrule": "benchmarks.adapters.chainrule_adapter:Chainrule",
    "chainrule-compiled": "benchmarks.adapters.chainrule_compiled:ChainruleCompiled",
    "torch": "benchmarks.adapters.torch_eager:TorchEager",
    "jax-jit": "benchmarks.adapters.jax_jit:JaxJit",
    "autograd": "benchmarks.adapters.hips_autograd:HipsAutograd",
    "micrograd": "benchmarks.adapters.micrograd_adapter:Micrograd",
}


def load_adapters(names: list[str] | None = None, threads: int = 1,
                  log: Callable[[str], None] = print) -> tuple[list[Adapter], dict[str, str]]:
    """Load the named adapters (all when None) set to `threads`; return (loaded, {name: reason not loaded})."""
    unknown = [n for n in names or [] if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown libraries {unknown}; known: {', '.join(REGISTRY)}")
    loaded, missing = [], {}
    for name, target in REGISTRY.items():
        if names and name not in names:
            continue
        module, cls = target.split(":")
        adapter = getattr(importlib.import_module(module), cls)()
        try:
            adapter.load()
            adapter.set_threads(threads)
            loaded.append(adapter)
        except Unavailable as e:
            missing[name] = str(e)
        except Exception as e:
            missing[name] = f"{type(e).__name__}: {e}"[:300]
        if name in missing:
            log(f"  {name}: not measured ({missing[name]})")
    return loaded, missing


__all__ = ["REGISTRY", "Adapter", "Unavailable", "load_adapters"]
