"""The installed package holds every module of the source tree: a module left
out of bindings/python/meson.build's install list imports fine from the
source tree but not from a wheel (it happened to ctrule._parallel)."""

from __future__ import annotations

from pathlib import Path

import ctrule

SOURCE = Path(__file__).resolve().parents[1] / "ctrule"


def test_every_source_module_is_installed():
    installed = Path(ctrule.__file__).resolve().parent
    wanted = {p.name for p in SOURCE.iterdir() if p.suffix in (".py", ".pyi") or p.name == "py.typed"}
    have = {p.name for p in installed.iterdir()}
    assert wanted <= have, f"not installed (add them to bindings/python/meson.build): {sorted(wanted - have)}"
