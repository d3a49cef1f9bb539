"""Fixtures of the scheduling tests (see harness.py)."""

from scheduling.harness import pool

__all__ = ["pool"]
