"""Parity with the C command-line tool: `ctrule scan --json` on the same data
with the same rules writes, byte for byte, the lines Alert.to_json() gives
(both are the library's ctr_match_json)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import ctrule

from conftest import REPO

CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule"))

pytestmark = pytest.mark.skipif(
    not os.access(CLI, os.X_OK),
    reason=f"the C CLI is not built at {CLI} (ninja -C build builds it; or set CTRULE_CLI)")


def cli_alerts(*args: str) -> list[str]:
    proc = subprocess.run([str(CLI), "scan", "--json", *args], capture_output=True, timeout=300)
    # exit 0: scanned; 4: some input held bad records (everything else scanned)
    assert proc.returncode in (0, 4), proc.stderr.decode()
    return sorted(ln for ln in proc.stdout.decode().splitlines() if ln.strip())


def py_alerts(rs: ctrule.Ruleset, path: Path) -> list[str]:
    return sorted(a.to_json() for a in rs.scan(path))


def test_cli_has_the_same_builtin_rules() -> None:
    listing = subprocess.run([str(CLI), "list"], capture_output=True, text=True, timeout=60).stdout
    rules = ctrule.builtin("rds")
    same = f"{len(rules)} rules," in listing and all(r.name in listing for r in rules)
    assert same, (f"{CLI} was built from other built-in rules than this package: "
                  "rebuild both (ninja -C build; pip install .)")


@pytest.mark.parametrize("data", ["records.ndjson", "records.json.gz"])
def test_parity_builtin_rules(data: str, ndjson_path: Path) -> None:
    test_cli_has_the_same_builtin_rules()
    path = ndjson_path.parent / data
    py = py_alerts(ctrule.builtin("rds"), path)
    assert py  # the data holds real risky RDS changes
    assert py == cli_alerts(str(path))


@pytest.mark.parametrize("data,least", [
    ("records.ndjson", 100), ("records.json.gz", 100), ("partial.ndjson", 1),
    ("envelopes/cloudtrail_log_file.ndjson", 1),
    ("envelopes/cwl_subscription_decoded.ndjson", 0),  # no match, many bad records
])
def test_parity_rules_file(data: str, least: int, ndjson_path: Path, rules_path: Path) -> None:
    path = ndjson_path.parent / data
    py = py_alerts(ctrule.load(rules_path, builtins=()), path)
    assert len(py) >= least
    assert py == cli_alerts("--no-builtin", "-r", str(rules_path), str(path))
