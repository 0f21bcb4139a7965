"""docs/fields.md is the field reference users read: every field the engine
knows (`ctrule list --fields`, which prints the library's own registry) has a
row there with the same type and derivation, and the doc lists no field the
engine does not have. Run by scripts/test.d/cli.sh with the other e2e tests."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule"))
DOC = REPO / "docs" / "fields.md"

ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \| (.*) \|$")


def engine_fields() -> dict[str, tuple[str, str]]:
    out = subprocess.run([str(CLI), "list", "--fields"], capture_output=True, text=True, check=True).stdout
    fields = {}
    for line in out.splitlines():
        name, ftype, desc = re.split(r"\s+", line, maxsplit=2)
        fields[name] = (ftype, desc)
    return fields


def doc_fields() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"docs/fields.md lists {m.group(1)} twice"
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_every_field_of_the_engine_is_documented_as_it_is():
    engine, doc = engine_fields(), doc_fields()
    assert len(engine) > 50, "ctrule list --fields printed too little to be the registry"
    missing = sorted(set(engine) - set(doc))
    assert not missing, f"fields missing from docs/fields.md: {missing}"
    for name, (ftype, desc) in engine.items():
        assert doc[name] == (ftype, desc), f"{name}: docs/fields.md says {doc[name]}, the engine {(ftype, desc)}"


def test_the_doc_names_no_field_the_engine_lacks():
    extra = sorted(set(doc_fields()) - set(engine_fields()))
    assert not extra, f"docs/fields.md documents fields the engine does not have: {extra}"
