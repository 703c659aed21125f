"""chainrule.nn: layers, multi-layer perceptrons, activations, costs and initialisers, in PyTorch's shape.

Everything here is built from the engine's operations; nothing computes a gradient by hand.
"""
from . import activations, functional, init
from .activations import ACTIVATIONS, Arctan, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from .functional import COSTS, LOSSES, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, get_loss
from .layers import MLP, Linear, Sequential
from .module import Module

__all__ = [
    "ACTIVATIONS", "COSTS", "LOSSES", "Arctan", "MLP", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Identity",
    "LeakyReLU", "Linear", "MSELoss", "Module", "ReLU", "Sequential", "Sigmoid", "Softplus", "Tanh",
    "activations", "functional", "get_loss", "init",
]
