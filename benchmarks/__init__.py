"""chainrule's benchmarks: the issue-5 workloads timed against a hand-written NumPy back-propagation and peers.

`python -m benchmarks.run` measures and writes benchmarks/RESULTS.md; nothing here is imported by chainrule.
"""
