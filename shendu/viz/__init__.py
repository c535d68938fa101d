"""Visual aids: see what a network computes and how it learns (docs/visualize.md).

Every function draws with matplotlib (imported on first use, never by ``import shendu``)
and either writes a file (PNG or SVG by the path's suffix, atomically) or draws into a
matplotlib Axes given as ``ax=``.

===========================  ==========================================================
computation_graph            the autograd graph of an expression or a model; ``.save``
                             writes SVG (own layered layout, no Graphviz) or PNG
feature_maps,                a conv layer's outputs for an input, as an image grid
plot_feature_maps
plot_filters                 a conv layer's filters, as an image grid
GradientStats                callback: per-layer gradient norms, activation mean/std/zeros
decision_grid,               a 2-D classifier's regions on a grid, drawn with the points
plot_decision_boundary
plot_confusion_matrix        the confusion matrix as a heat map with counts
loss_landscape,              the loss along two filter-normalised random directions
plot_loss_landscape          (Li et al. 2018), as a contour plot
LiveCurves                   callback: training curves redrawn every epoch (IPython
                             display handle in notebooks, a PNG elsewhere)
===========================  ==========================================================

``Module.gradcheck(sample)`` and ``shendu.set_printoptions(stats=True)`` /
``Tensor.describe()`` complete the set (they live with the Module and the Tensor).
"""
from .confusion import normalized_confusion, plot_confusion_matrix
from .conv import feature_maps, filter_images, plot_feature_maps, plot_filters
from .decision_boundary import decision_grid, plot_decision_boundary
from .gradient_stats import GradientStats, activation_stats
from .graph import Graph, Node, computation_graph
from .landscape import LossLandscape, filter_normalized_direction, loss_landscape, plot_loss_landscape
from .live import LiveCurves

__all__ = ["GradientStats", "activation_stats", "decision_grid", "plot_decision_boundary", "Graph", "Node",
           "computation_graph", "feature_maps", "filter_images", "plot_feature_maps", "plot_filters",
           "normalized_confusion", "plot_confusion_matrix", "LossLandscape", "filter_normalized_direction",
           "loss_landscape", "plot_loss_landscape", "LiveCurves"]
