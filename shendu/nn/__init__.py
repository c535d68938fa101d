"""Neural-network building blocks: modules, layers, activations and losses as layers."""
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
