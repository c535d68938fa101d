"""Visual aids: see what a network computes and how it learns.

Every function draws with matplotlib (imported on first use, never by ``import shendu``)
and either writes a file (PNG or SVG by the path's suffix, atomically) or draws into a
matplotlib Axes given as ``ax=``. See docs/visualize.md.

==========================  ===========================================================
GradientStats               callback: per-layer gradient norms, activation mean/std/zeros
decision_grid,              a 2-D classifier's regions on a grid, drawn with the points
plot_decision_boundary
==========================  ===========================================================
"""
from .decision_boundary import decision_grid, plot_decision_boundary
from .gradient_stats import GradientStats, activation_stats

__all__ = ["GradientStats", "activation_stats", "decision_grid", "plot_decision_boundary"]
