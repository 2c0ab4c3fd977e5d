"""Insights: Compare (and later Regressions, Cost, Evals) over the execution log."""
