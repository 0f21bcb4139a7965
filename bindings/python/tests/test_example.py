"""The example program examples/python/hunt.py, run as a user would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Record, expected_matches

HUNT = REPO / "examples" / "python" / "hunt.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HUNT), *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def tree(tmp_path: Path, ndjson_path: Path, gz_path: Path, records: list[Record]) -> Path:
    root = tmp_path / "AWSLogs"
    (root / "111122223333" / "us-east-1").mkdir(parents=True)
    (root / "other").mkdir()
    shutil.copy(gz_path, root / "111122223333" / "us-east-1" / "trail_1.json.gz")
    shutil.copy(ndjson_path, root / "other" / "export.ndjson")
    (root / "other" / "notes.txt").write_text("not CloudTrail")
    (root / "other" / "broken.json").write_bytes(records[193].raw + b"\n{oops}\n")
    return root


def test_hunt_summary(tree: Path, rules_path: Path, records: list[Record]) -> None:
    proc = run("-r", str(rules_path), "--no-builtin", "-j", "2", str(tree))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    per_copy = expected_matches(records)
    extra = expected_matches([records[193]])
    total = 2 * len(per_copy) + len(extra)
    assert "Scanned 3 files" in out and f"{2 * 1163 + 2:,} records" in out
    assert f"Alerts: {total:,}\n" in out
    console = 2 * sum(1 for _, rule in per_copy if rule == "Console Login")
    assert f"{console:7,}  Console Login\n" in out
    assert "with 6 rules and 2 workers" in out
    assert "Files with problems: 1" in out and "broken.json: 1 bad or incomplete records" in out
    assert "record 1 at byte" in out


def test_hunt_json_lines(tree: Path, rules_path: Path, records: list[Record]) -> None:
    proc = run("--json", "-r", str(rules_path), "--no-builtin", "--min-priority", "error",
               str(tree / "111122223333"))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    expect = expected_matches(records, ["IAM Write", "CloudTrail Logging Stopped"])
    assert len(lines) == len(expect) and {d["rule"] for d in lines} == {
        "IAM Write", "CloudTrail Logging Stopped"}
    assert all(set(d) == {"time", "rule", "priority", "output", "output_fields", "source",
                          "tags", "hostname"} for d in lines)
    assert f"Alerts: {len(expect):,}" in proc.stderr


def test_hunt_rules_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: x\n  desc: d\n  condition: ct.nosuchfield = 1\n"
                   "  output: o\n  priority: info\n")
    proc = run("-r", str(bad), str(tmp_path))
    assert proc.returncode == 2 and f"{bad}:3:" in proc.stderr


def test_hunt_unreadable_file(tmp_path: Path) -> None:
    proc = run(str(tmp_path / "missing.json.gz"))
    assert proc.returncode == 1 and "missing.json.gz" in proc.stdout


def test_hunt_output_that_cannot_be_written(tmp_path: Path, gz_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    for args in (["--json", str(gz_path)], [str(gz_path)]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, str(HUNT), *args], stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=300)
        assert proc.returncode == 74, proc.stderr
        assert "hunt: cannot write to standard output: No space left on device" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_hunt_file_without_cloudtrail_record(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"hello":"world"}')
    empty = tmp_path / "empty.json"
    empty.write_text("")
    proc = run(str(wrong), str(empty))
    assert proc.returncode == 1, proc.stderr
    assert "no CloudTrail record in this input" in proc.stdout and "empty.json" not in proc.stdout.split(
        "Files with problems")[-1]
