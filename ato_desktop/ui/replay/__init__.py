"""Replay in the UI: one run (or call) on another target, side by side; and batch replay."""
