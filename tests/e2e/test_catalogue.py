"""The bad-input catalogue (tests/catalogue/catalogue.json) through the
`ctrule` CLI: for every bad rule, `validate` prints the catalogued diagnostic
and exits 3 (0 for a warning); for every bad event, `scan` prints the
catalogued report with the record index and byte offset, still reports the
alerts of the good records, and exits 4 (0 when the record was evaluated
anyway). Also checks that docs/bad-input.md is rendered from the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule")).resolve()
SANITIZED = os.environ.get("CTRULE_CLI_SANITIZED") == "1"
CATALOGUE_DIR = REPO / "tests" / "catalogue"
CATALOGUE = json.loads((CATALOGUE_DIR / "catalogue.json").read_text())


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)
    if SANITIZED:
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in proc.stderr, proc.stderr
    return proc


def limit_args(entry: dict) -> list[str]:
    return [f"--limit={name}={value}" for name, value in entry.get("limits", {}).items()]


@pytest.mark.parametrize("entry", CATALOGUE["rules"], ids=[e["id"] for e in CATALOGUE["rules"]])
def test_bad_rule(entry: dict, tmp_path: Path) -> None:
    if "path" in entry:
        file = entry["path"]
    else:
        file = "bad.yaml"
        (tmp_path / file).write_bytes(entry["yaml"].encode())
    proc = run(["validate", "--no-builtin", *limit_args(entry), file], tmp_path)
    pos = f"{entry['line']}:{entry['column']}:" if entry["line"] else ""
    item = f" (in '{entry['item']}')" if entry["item"] else ""
    line = f"{file}:{pos} {entry['severity']}: {entry['message']}{item}"
    assert line in proc.stdout.splitlines(), proc.stdout + proc.stderr
    assert proc.returncode == entry["cli_exit"], proc.stdout + proc.stderr


def event_bytes(entry: dict) -> bytes:
    if "input_file" in entry:
        return (CATALOGUE_DIR / entry["input_file"]).read_bytes()
    return entry["input"].replace("{GOOD}", CATALOGUE["good_record"]).encode()


@pytest.mark.parametrize("entry", CATALOGUE["events"], ids=[e["id"] for e in CATALOGUE["events"]])
def test_bad_event(entry: dict, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(entry.get("rules", CATALOGUE["default_rules"]))
    (tmp_path / "input.json").write_bytes(event_bytes(entry))
    proc = run(["scan", "--no-builtin", "-r", "rules.yaml", "--json", "-v", "--no-progress",
                *limit_args(entry), "input.json"], tmp_path)
    alerts = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(alerts) == entry["alerts"], proc.stdout + proc.stderr
    if entry["kind"] == "stream":
        want = f"ctrule: input.json: input at byte {entry['offset']}: {entry['message']}"
    elif entry["kind"] == "record":
        want = f"ctrule: input.json: record {entry['index']} at byte {entry['offset']}: {entry['message']}"
    elif entry["status"] == "ELIMIT":  # a rule left undecided: always a warning
        want = (f"ctrule: warning: input.json: record {entry['index']} at byte {entry['offset']}: "
                f"{entry['message']}")
    else:  # incomplete, listed with -v; the message says it was evaluated, once
        assert entry["message"].endswith(" (evaluated anyway)")
        want = (f"ctrule: warning: input.json: record {entry['index']} at byte {entry['offset']}: "
                f"{entry['message']}")
        assert "(evaluated anyway) (evaluated anyway)" not in proc.stderr
    assert want in proc.stderr.splitlines(), proc.stderr
    assert proc.returncode == entry["cli_exit"], proc.stderr


def test_regex_limit_warning_needs_no_verbose(tmp_path: Path) -> None:
    entry = next(e for e in CATALOGUE["events"] if e["id"] == "regex_limit")
    (tmp_path / "rules.yaml").write_text(entry["rules"])
    (tmp_path / "input.json").write_bytes(event_bytes(entry))
    proc = run(["scan", "--no-builtin", "-r", "rules.yaml", *limit_args(entry), "input.json"], tmp_path)
    assert "not evaluated: a regex hit the PCRE2 limit" in proc.stderr, proc.stderr
    assert proc.returncode == 0


def test_limit_option_rejects_unknown_names_and_values(tmp_path: Path) -> None:
    for bad in ("nosuch=1", "rules", "rules=-1", "rules=12x", "rules="):
        proc = run(["validate", "--limit", bad], tmp_path)
        assert proc.returncode == 2, (bad, proc.stderr)
        assert "--limit" in proc.stderr, proc.stderr


def test_doc_is_rendered_from_the_catalogue() -> None:
    proc = subprocess.run([sys.executable, str(CATALOGUE_DIR / "render_doc.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ids = [e["id"] for e in CATALOGUE["rules"] + CATALOGUE["events"]]
    doc = (REPO / "docs" / "bad-input.md").read_text()
    for ident in ids:
        assert f"(`{ident}`)" in doc, ident
    assert len(set(ids)) == len(ids), "catalogue ids must be unique"
