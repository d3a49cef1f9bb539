"""Fixtures of the reporting tests (see harness.py)."""

from reporting.harness import pool

__all__ = ["pool"]
