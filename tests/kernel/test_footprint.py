"""A process's entry point leaves out the optional integrations it does not use
(:mod:`caunoi.shared.footprint`): imported with the whole service, they are loaded only where the
entry point did not leave them out."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

SERVICES = ["petitions", "scheduling", "notify", "reporting"]
WATCHED = ("uvicorn", "greenlet", "click")


def loaded_after(prelude: str, module: str) -> set[str]:
    """Which of :data:`WATCHED` a fresh interpreter holds after ``prelude`` and importing ``module``."""
    code = f"{prelude}\nimport sys, {module}\nprint(' '.join(m for m in {WATCHED!r} if sys.modules.get(m) is not None))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_process_leaves_out_uvicorn_and_greenlet(service: str) -> None:
    if find_spec("uvicorn") is None or find_spec("greenlet") is None:
        pytest.skip("uvicorn or greenlet is not installed here: nothing to leave out")
    module = f"caunoi.{service}.bootstrap"
    # the libraries load them when they are installed (else the entry in footprint can go) ...
    assert {"uvicorn", "greenlet"} <= loaded_after("", module)
    # ... and a service's entry point keeps them out, click (which uvicorn brought) too
    left_out = "from caunoi.shared import footprint\nfootprint.leave_out(footprint.SERVICE)"
    assert loaded_after(left_out, module) == set()


def entry_point(module: str) -> Path:
    spec = find_spec(module)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


@pytest.mark.parametrize(
    ("module", "names"),
    [*((f"caunoi.{s}.__main__", "SERVICE") for s in SERVICES), ("caunoi.web.__main__", "WEB")],
)
def test_each_entry_point_leaves_out_before_it_imports_anything_else(module: str, names: str) -> None:
    """``python -m caunoi.<service>`` / ``caunoi.web``: the call comes before any other import."""

    def preamble(node: ast.stmt) -> bool:  # the docstring, ``from __future__ import ...``
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        return docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__")

    body = [n for n in ast.parse(entry_point(module).read_text()).body if not preamble(n)]
    first, call, *_ = body
    assert ast.unparse(first) == "from caunoi.shared import footprint"
    assert ast.unparse(call) == f"footprint.leave_out(footprint.{names})"
