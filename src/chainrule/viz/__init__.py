"""chainrule.viz: pictures of training (plots.py: loss curves, decision regions) and of computation graphs
(graph.py: SVG and DOT). Import the submodule you need; matplotlib loads only with plots.
"""
