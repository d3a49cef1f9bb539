"""A progress line for long audit work, on stderr: done and total, events/s, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update(done)`` redraws at most every ``every`` seconds; ``close()`` ends the line."""

    def __init__(self, label: str, total: int, lang: str = "vi", out: TextIO | None = None, every: float = 0.2):
        self.label = label
        self.total = max(total, 0)
        self.lang = lang
        self.out = out or sys.stderr
        self.every = every
        self.started = time.monotonic()
        self._drawn = 0.0
        self.done = 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        width = 24
        frac = min(self.done / self.total, 1.0) if self.total else 1.0
        bar = "█" * int(frac * width) + "·" * (width - int(frac * width))
        left = (self.total - self.done) / rate if rate > 0 and self.total > self.done else 0.0
        unit, rest = ("sự kiện/s", "còn") if self.lang == "vi" else ("events/s", "left")
        return (
            f"{self.label} [{bar}] {frac:4.0%} {self.done:,}/{self.total:,}  {rate:,.0f} {unit}  {rest} {_clock(left)}"
        )

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if self.out.isatty() and now - self._drawn >= self.every:
            self._drawn = now
            self.out.write("\r" + self.line())
            self.out.flush()

    def close(self) -> None:
        self.out.write(("\r" if self.out.isatty() else "") + self.line() + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
