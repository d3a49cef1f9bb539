"""What a process of caunoi leaves out of its memory.

Some libraries import an optional integration whenever it is installed: FastStream imports
uvicorn (and click through it) for its ASGI support, structlog imports greenlet for greenlet-local
context. One environment holds everything ``caunoi up`` runs (the web application needs uvicorn;
the browser tests bring greenlet), so every service process loaded both without using either:
2.9 MB of a process's ~79 MB resident after start (bench/README.md, "Resident memory after
`up`"). A process's entry point leaves them out before it imports anything else: importing a
module whose ``sys.modules`` entry is None raises ImportError, which those libraries take as "not
installed"."""

from __future__ import annotations

import sys
from collections.abc import Iterable

#: what a service process (``python -m caunoi.<service>``) uses none of
SERVICE: tuple[str, ...] = ("uvicorn", "greenlet")
#: what the web application (``python -m caunoi.web``) uses none of
WEB: tuple[str, ...] = ("greenlet",)


def leave_out(modules: Iterable[str]) -> None:
    """Make ``modules`` (top-level packages) unimportable in this process, unless already imported."""
    for name in modules:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
