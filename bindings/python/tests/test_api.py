"""The public API is documented and typed: docstrings on every public name,
py.typed and the stub shipped, and mypy --strict accepts typical use."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import ctrule

from conftest import REPO

ALIASES = {"Source", "MatchCallback", "ErrorCallback"}  # typing aliases: documented with #:


def public_names() -> list[str]:
    return [n for n in ctrule.__all__ if n not in ALIASES and not n.isupper()
            and n != "__version__"]


@pytest.mark.parametrize("name", public_names())
def test_docstrings(name: str) -> None:
    obj = getattr(ctrule, name)
    assert inspect.getdoc(obj), name
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(member, (property, staticmethod, classmethod)) or inspect.isfunction(member):
                fn = member.fget if isinstance(member, property) else member
                assert inspect.getdoc(fn), f"{name}.{attr}"


def test_module_docstring_and_all() -> None:
    assert ctrule.__doc__ and "scan" in ctrule.__doc__
    for name in ctrule.__all__:
        assert hasattr(ctrule, name), name


def test_typing_files_shipped() -> None:
    pkg = Path(ctrule.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_capi.pyi").exists()
    # the low-level module is the SWIG-generated one
    assert "SWIG" in (pkg / "_capi.py").read_text()[:200]


SAMPLE = '''
from __future__ import annotations
import ctrule

def on_match(alert: ctrule.Alert) -> bool | None:
    fields: dict[str, str | None] = alert.fields
    return alert.priority <= ctrule.Priority.CRITICAL and bool(fields)

rs: ctrule.Ruleset = ctrule.load("rules.yaml", builtins=["rds"], min_priority="warning")
with rs.scanner(on_match, strict=True) as sc:
    ok: bool = sc.feed(b"{}") and sc.finish()
    st: ctrule.Stats = sc.stats
for alert in rs.scan("trail.json.gz"):
    print(alert.time, alert.event.get("eventName"), alert.raw.decode())
try:
    ctrule.loads("- rule: x")
except ctrule.RulesError as e:
    print(e.file, e.line, e.column, [d.text for d in e.diagnostics])
'''


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_strict(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    hunt = REPO / "examples" / "python" / "hunt.py"
    base = [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
            "--cache-dir", str(tmp_path / "cache")]
    for target in ([str(sample), str(hunt)], ["-p", "ctrule"]):
        proc = subprocess.run(base + target, capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
