"""End-to-end: the `ctrule` CLI takes a Sigma rule file wherever it takes a Falco
rules file (-r, validate), with no option of its own (docs/sigma.md). Run by
scripts/test.d/cli.sh with the other e2e tests (CTRULE_CLI names the binary)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule"))
SIGMAHQ = REPO / "tests" / "sigma" / "sigmahq"
SAMPLE = REPO / "examples" / "data" / "cloudtrail-sample.json.gz"

if not os.access(CLI, os.X_OK):
    pytest.exit(f"the ctrule CLI is not built at {CLI} (ninja -C build)", returncode=1)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120)
    if os.environ.get("CTRULE_CLI_SANITIZED") == "1":
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in proc.stderr, proc.stderr
    return proc


def test_validate_takes_sigma_files():
    files = sorted(str(p) for p in SIGMAHQ.glob("*.yml"))
    assert len(files) >= 10
    proc = run("validate", "--werror", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 warnings" in proc.stdout


def test_scan_with_a_sigma_rule_alongside_the_builtin_rules(tmp_path: Path):
    rule = SIGMAHQ / "rds_snapshot_shared_external.yml"
    records = (SIGMAHQ / "rds_snapshot_shared_external.match.json").read_text()
    records += (SIGMAHQ / "rds_snapshot_shared_external.nomatch.json").read_text()
    data = tmp_path / "records.json"
    data.write_text(records)
    proc = run("scan", "--json", "-r", str(rule), str(data))
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    sigma = [a for a in alerts if "sigma" in a["tags"]]
    assert len(sigma) == 1, alerts
    a = sigma[0]
    assert a["rule"] == "AWS RDS Snapshot Shared with External Account"
    assert a["priority"] == "Error"  # level: high
    assert "sigma.id:97c282d9-e48d-4121-bb95-490a42325706" in a["tags"]
    assert a["output_fields"]["ct.user"] == "alice" and a["output_fields"]["ct.region"] == "eu-west-1"
    assert "ModifyDBSnapshotAttribute on rds.amazonaws.com" in a["output"]


def test_a_bad_sigma_rule_is_a_rules_error_at_file_line_column(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: Bad\nlogsource:\n  product: aws\n  service: cloudtrail\n"
                   "detection:\n  s:\n    eventName: x\n  condition: s | count() > 3\n")
    for args in (("validate", str(bad)), ("scan", "-r", str(bad), str(SAMPLE))):
        proc = run(*args)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        assert f"{bad}:8:16: error: aggregation" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
