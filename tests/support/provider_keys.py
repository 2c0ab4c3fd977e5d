"""Planted provider keys: recognisable, so a test can tell when one leaks into a log, an export
or an error text."""

from __future__ import annotations

ANTHROPIC_KEY = "sk-ant-api03-PLANTEDKEY-abcdefghijklmnopqrstuvwxyz0123456789"
OPENAI_KEY = "sk-proj-PLANTEDKEY-zyxwvutsrqponmlkjihgfedcba9876543210"
COMPATIBLE_KEY = "local-PLANTEDKEY-0011223344556677"
