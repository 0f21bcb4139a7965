"""End-to-end tests of the `ctrule` command-line tool, driven as a user drives
it: arguments in, exit code and output out. Run by scripts/test.d/cli.sh
(CTRULE_CLI names the binary; default build/examples/cli/ctrule)."""

from __future__ import annotations

import gzip
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CTRULE_CLI", REPO / "build" / "examples" / "cli" / "ctrule"))
SANITIZED = os.environ.get("CTRULE_CLI_SANITIZED") == "1"
SAMPLE = REPO / "examples" / "data" / "cloudtrail-sample.json.gz"
RULES_YAML = REPO / "libctrule" / "rules" / "aws_rds_rules.yaml"
CORRELATIONS_YAML = REPO / "libctrule" / "rules" / "aws_rds_correlations.yaml"


def builtin_rule_names() -> list[str]:
    """The built-in set: the Falco rules, then the Sigma rule and correlations appended to them."""
    names = [i["rule"] for i in yaml.safe_load(RULES_YAML.read_text()) if "rule" in i]
    return names + [d["title"] for d in yaml.safe_load_all(CORRELATIONS_YAML.read_text())]
FIXTURES = REPO / "libctrule" / "rules" / "tests"
CORPUS = REPO.parent / "shared" / "data" / "cloudtrail"
REQUIRE_DATA = os.environ.get("CTRULE_REQUIRE_DATA") == "1"

SAMPLE_ALERTS = 12  # see examples/data/make_sample.py
FALCO_PRIORITIES = {"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")

if not os.access(CLI, os.X_OK):
    pytest.exit(f"the ctrule CLI is not built at {CLI} (ninja -C build)", returncode=1)


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([str(CLI), *args], input=stdin, capture_output=True, env=full_env, cwd=cwd,
                          timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if SANITIZED:
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"):
            assert marker not in err, f"sanitizer report for {args}:\n{err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def json_alerts(text: str) -> list[dict]:
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def fixture_lines(name: str) -> list[str]:
    return (FIXTURES / f"{name}.ndjson").read_text().splitlines()


# ------------------------------------------------------------------ basics

def test_version() -> None:
    p = run("--version")
    assert p.returncode == 0
    assert re.search(r"^ctrule \d+\.\d+\.\d+$", p.stdout, re.M)
    assert "libctrule" in p.stdout and "engine 0.63.0" in p.stdout and "rds" in p.stdout


@pytest.mark.parametrize("cmd", [[], ["scan"], ["validate"], ["list"], ["test"]])
def test_help_for_every_subcommand(cmd: list[str]) -> None:
    p = run(*cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert "Usage:" in p.stdout or "Usage: ctrule" in p.stdout
    assert "Exit codes:" in p.stdout
    if cmd:
        assert run("help", *cmd).stdout == p.stdout


def test_no_arguments_is_a_usage_error() -> None:
    p = run()
    assert p.returncode == 2
    assert "Usage:" in p.stderr


@pytest.mark.parametrize("args, text", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["scan", "--bogus", str(SAMPLE)], "unknown option '--bogus'"),
    (["scan", "--min-priority", "loud", str(SAMPLE)], "unknown priority 'loud'"),
    (["scan", "--color=sometimes", str(SAMPLE)], "--color takes auto, always or never"),
    (["scan", "-r"], "option '-r' needs a value"),
    (["scan", "-", "-"], "'-' (stdin) can be given only once"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["validate", "--no-builtin"], "leaves nothing to validate"),
])
def test_usage_errors_exit_2(args: list[str], text: str) -> None:
    p = run(*args)
    assert p.returncode == 2
    assert text in p.stderr
    assert "--help" in p.stderr


# ------------------------------------------------------------------ scan: the sample

def test_scan_sample_text_output() -> None:
    p = run("scan", str(SAMPLE))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    heads = [ln for ln in p.stdout.splitlines() if ln and not ln.startswith(" ")]
    assert len(heads) == SAMPLE_ALERTS
    assert not ANSI.search(p.stdout), "no colour when stdout is not a terminal"
    for rule in ("RDS Snapshot Shared With Foreign Account", "RDS Instance Deleted Without Final Snapshot",
                 "RDS Automated Backups Disabled", "RDS Snapshot Exported To S3", "RDS Instance Made Public",
                 "RDS Deletion Protection Disabled", "RDS Master Password Changed", "RDS Public Exposure Attempt Denied"):
        assert rule in p.stdout
    # Each alert: headline, rendered output, then where it was found.
    assert re.search(r"^2025-07-10T16:19:02Z Critical RDS Snapshot Shared With Foreign Account$", p.stdout, re.M)
    assert "snapshot=orders-prod-adhoc-0710 accounts=(444455556666) user=DevOpsDeployRole" in p.stdout
    assert "arn=arn:aws:sts::123456789012:assumed-role/DevOpsDeployRole/mallory account=123456789012 " \
           "region=us-east-1 ip=203.0.113.77 agent=Boto3/" in p.stdout
    assert re.search(r"cloudtrail-sample\.json\.gz record \d+ at byte \d+", p.stdout)
    # AWS Backup housekeeping and routine changes in the sample raise nothing.
    assert "awsbackup" not in p.stdout
    assert "dba-carol" not in p.stdout


def test_scan_json_is_falco_alert_json() -> None:
    p = run("scan", "--json", str(SAMPLE))
    assert p.returncode == 0, p.stderr
    alerts = json_alerts(p.stdout)
    assert len(alerts) == SAMPLE_ALERTS
    for a in alerts:
        assert set(a) == {"time", "rule", "priority", "output", "output_fields", "source", "tags", "hostname"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", a["time"])
        assert a["priority"] in FALCO_PRIORITIES
        assert a["source"] == "aws_cloudtrail"
        assert a["hostname"]
        assert {"aws", "aws_rds"} <= set(a["tags"])
        assert any(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in a["tags"])
        for key in ("ct.user", "ct.user.arn", "ct.user.accountid", "ct.region", "ct.srcip", "ct.useragent"):
            assert key in a["output_fields"]
        assert "<NA>" not in json.dumps(a["output_fields"]), "absent fields are null, not <NA>"
    share = next(a for a in alerts if a["rule"] == "RDS Snapshot Shared With Foreign Account"
                 and a["output_fields"].get("rds.snapshot") == "orders-prod-adhoc-0710")
    assert share["rule"] == "RDS Snapshot Shared With Foreign Account"
    assert share["time"] == "2025-07-10T16:19:02.000000000Z"
    assert share["output_fields"]["rds.shared.foreign_accounts[rds_trusted_accounts]"] == ["444455556666"]
    dp = next(a for a in alerts if a["rule"] == "RDS Deletion Protection Disabled")
    assert dp["output_fields"]["rds.cluster"] is None
    assert "cluster=<NA>" in dp["output"]


def test_json_and_text_report_the_same_alerts() -> None:
    text = run("scan", str(SAMPLE)).stdout
    rules_text = [ln.split(None, 2)[2] for ln in text.splitlines() if ln and not ln.startswith(" ")]
    rules_json = [a["rule"] for a in json_alerts(run("scan", "--json", str(SAMPLE)).stdout)]
    assert rules_text == rules_json


TEXT_RULES = """
- rule: Crit rule
  desc: d
  condition: ct.name = "DeleteThing"
  output: deleted %ct.user with %json.value[/requestParameters/name] and %ct.region
  priority: CRITICAL
- rule: Info rule
  desc: d
  condition: ct.name = "DeleteThing" and json.value[/requestParameters/name] = "b"
  output: info %ct.id
  priority: INFORMATIONAL
- rule: Alert rule
  desc: d
  condition: ct.name = "DeleteThing" and json.value[/requestParameters/name] = "c"
  output: "tab\\there"
  priority: ALERT
"""


def text_records() -> str:
    """Four records: whole seconds, a fraction with trailing zeros, one nanosecond, no valid time."""
    lines = []
    for time_, name, region, eid in [("2024-01-02T03:04:05Z", "a", "us-east-1", "e1"),
                                     ("2024-01-02T03:04:05.120Z", "b", "us-east-1", "e2"),
                                     ("1999-12-31T23:59:59.000000001Z", "c", "eu-west-1", "e3"),
                                     ("not a time", "a", "us-east-1", "e4")]:
        lines.append(json.dumps({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "userName": "bob", "accountId": "111122223333"},
            "eventTime": time_, "eventSource": "ec2.amazonaws.com", "eventName": "DeleteThing",
            "awsRegion": region, "sourceIPAddress": "1.2.3.4", "requestParameters": {"name": name},
            "eventID": eid}, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def test_text_alerts_exactly(tmp_path: Path) -> None:
    """The text form of an alert, byte for byte: time (fraction without its trailing zeros,
    "(no eventTime)" padded to 20), priority padded to 8, rule, output, where the record lies;
    and the same with colour."""
    rules, events = tmp_path / "r.yaml", tmp_path / "e.ndjson"
    rules.write_text(TEXT_RULES)
    events.write_text(text_records())
    alerts = [("2024-01-02T03:04:05Z", "Critical", "31", "Crit rule", "deleted bob with a and us-east-1", 0, 0),
              ("2024-01-02T03:04:05.12Z", "Critical", "31", "Crit rule", "deleted bob with b and us-east-1", 1, 297),
              ("2024-01-02T03:04:05.12Z", "Informational", "", "Info rule", "info e2", 1, 297),
              ("1999-12-31T23:59:59.000000001Z", "Critical", "31", "Crit rule", "deleted bob with c and eu-west-1",
               2, 598),
              ("1999-12-31T23:59:59.000000001Z", "Alert", "31", "Alert rule", "tab\there", 2, 598),
              ("(no eventTime)      ", "Critical", "31", "Crit rule", "deleted bob with a and us-east-1", 3, 905)]
    plain = run("scan", "--no-builtin", "-r", "r.yaml", "e.ndjson", cwd=tmp_path)
    assert plain.returncode == 0 and plain.stderr == ""
    assert plain.stdout == "".join(f"{t} {p:<8} {r}\n    {o}\n    e.ndjson record {i} at byte {b}\n"
                                   for t, p, _, r, o, i, b in alerts)
    colour = run("scan", "--no-builtin", "--color=always", "-r", "r.yaml", "e.ndjson", cwd=tmp_path)
    assert colour.returncode == 0
    assert colour.stdout == "".join(
        f"{t} \x1b[{'1;31' if c else '32'}m{p:<8}\x1b[0m \x1b[1m{r}\x1b[0m\n    {o}\n"
        f"    \x1b[2me.ndjson record {i} at byte {b}\x1b[0m\n" for t, p, c, r, o, i, b in alerts)


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert ANSI.search(run("scan", "--color=always", str(SAMPLE)).stdout)
    assert not ANSI.search(run("scan", "--color=never", str(SAMPLE)).stdout)
    assert not ANSI.search(run("scan", "--json", "--color=always", str(SAMPLE)).stdout)

    def on_tty(env: dict[str, str]) -> str:
        master, slave = pty.openpty()
        full_env = dict(os.environ)
        full_env.pop("NO_COLOR", None)
        full_env.update(env)
        proc = subprocess.Popen([str(CLI), "scan", str(SAMPLE)], stdout=slave, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, env=full_env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
        os.close(master)
        assert proc.returncode == 0
        return b"".join(chunks).decode("utf-8", "replace")

    assert ANSI.search(on_tty({"TERM": "xterm"}))
    assert not ANSI.search(on_tty({"TERM": "xterm", "NO_COLOR": "1"}))
    assert not ANSI.search(on_tty({"TERM": "dumb"}))


def test_summary_drill_down() -> None:
    p = run("scan", "-q", "--summary", str(SAMPLE))
    assert p.returncode == 0
    out = p.stdout
    assert "== Summary: 12 alerts (7 Critical, 2 Warning, 1 Notice, 2 Informational) in 3 accounts, 3 regions, 10 rules" in out
    # account -> region -> rule, most alerts first
    a1 = out.index("account 123456789012  8 alerts")
    r1 = out.index("region us-east-1  8 alerts")
    a2 = out.index("account 111122223333  3 alerts")
    assert a1 < r1 < a2
    assert re.search(r"Critical\s+2  RDS Instance Deleted Without Final Snapshot", out)
    assert "principals arn:aws:sts::123456789012:assumed-role/DevOpsDeployRole/mallory (7)" in out
    assert re.search(r"resources\s+orders-prod \(4\)", out)
    assert "region eu-west-1  3 alerts" in out
    # -q: no per-alert lines
    assert "    RDS snapshot shared" not in out


def test_summary_with_json_goes_to_stderr() -> None:
    p = run("scan", "--json", "--summary", str(SAMPLE))
    assert len(json_alerts(p.stdout)) == SAMPLE_ALERTS
    assert "== Summary: 12 alerts" in p.stderr


def test_stats_on_stderr() -> None:
    p = run("scan", "-q", "--stats", str(SAMPLE))
    assert p.returncode == 0
    assert p.stdout == ""
    assert re.search(r"stats: 1 input, .* read in [\d.]+ s", p.stderr)
    assert re.search(r"stats: (\d+) records: ", p.stderr)
    assert "12 alerts" in p.stderr and "0 bad" in p.stderr


# ------------------------------------------------------------------ scan: inputs

def test_stdin_gzip_and_ndjson() -> None:
    by_file = json_alerts(run("scan", "--json", str(SAMPLE)).stdout)
    p = run("scan", "--json", "-", stdin=SAMPLE.read_bytes())
    assert p.returncode == 0, p.stderr
    assert json_alerts(p.stdout) == by_file
    # No PATH: stdin, when it is not a terminal.
    p = run("scan", "--json", stdin=SAMPLE.read_bytes())
    assert json_alerts(p.stdout) == by_file
    # NDJSON on stdin.
    records = json.loads(gzip.decompress(SAMPLE.read_bytes()))["Records"]
    ndjson = "\n".join(json.dumps(r) for r in records).encode()
    p = run("scan", "--json", "-", stdin=ndjson)
    assert [a["rule"] for a in json_alerts(p.stdout)] == [a["rule"] for a in by_file]
    assert "<stdin> record" in run("scan", "-", stdin=ndjson).stdout


def test_no_input_on_a_terminal_is_a_usage_error() -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([str(CLI), "scan"], stdin=slave, capture_output=True, timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 2
    assert b"no input" in proc.stderr


def make_tree(tmp: Path) -> Path:
    top = tmp / "logs"
    (top / "AWSLogs" / "123456789012" / "CloudTrail" / "us-east-1" / "2025" / "07" / "10").mkdir(parents=True)
    (top / "other").mkdir()
    (top / ".hidden").mkdir()
    day = top / "AWSLogs" / "123456789012" / "CloudTrail" / "us-east-1" / "2025" / "07" / "10"
    shutil.copy(SAMPLE, day / "123456789012_CloudTrail_us-east-1_20250710T1645Z_a1b2c3.json.gz")
    (top / "other" / "share.ndjson").write_text("\n".join(fixture_lines("rds_snapshot_made_public")[:1]) + "\n")
    (top / "other" / "notes.txt").write_text(fixture_lines("rds_snapshot_made_public")[0])
    (top / ".hidden" / "x.json").write_text(fixture_lines("rds_snapshot_made_public")[0])
    return top


def test_directory_tree_recursive(tmp_path: Path) -> None:
    top = make_tree(tmp_path)
    p = run("scan", "--json", str(top))
    assert p.returncode == 0, p.stderr
    alerts = json_alerts(p.stdout)
    assert len(alerts) == SAMPLE_ALERTS + 1
    assert sum(a["rule"] == "RDS Snapshot Made Public" for a in alerts) == 1  # .txt and hidden files skipped
    p = run("scan", "--stats", "-q", str(top))
    assert "stats: 2 inputs" in p.stderr


def test_corrupt_file_among_good_ones(tmp_path: Path) -> None:
    good = fixture_lines("rds_snapshot_shared_with_foreign_account")
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_good.ndjson").write_text("\n".join(good[:2]) + "\n")
    bad_text = good[0] + "\n" + '{"eventVersion":"1.10","eventName": oops}' + "\n" + good[1] + "\n"
    (d / "b_bad.ndjson").write_text(bad_text)
    raw = gzip.compress("\n".join(good).encode(), mtime=0)
    (d / "c_corrupt.json.gz").write_bytes(raw[: len(raw) // 2] + b"\x00garbage" * 8)
    shutil.copy(SAMPLE, d / "d_sample.json.gz")
    p = run("scan", "--json", str(d))
    assert p.returncode == 4, (p.returncode, p.stderr)
    rules = [a["rule"] for a in json_alerts(p.stdout)]
    # a_good: 2 alerts; b_bad: its 2 good records; d_sample: all of its alerts.
    assert rules.count("RDS Snapshot Shared With Foreign Account") >= 2 + 2 + 2
    assert len(rules) >= 4 + SAMPLE_ALERTS
    offset = len(good[0]) + 1
    assert f"b_bad.ndjson: record 1 at byte {offset}: invalid JSON" in p.stderr
    assert "c_corrupt.json.gz:" in p.stderr
    assert "2 inputs could not be read completely" in p.stderr
    errors = [line for line in p.stderr.splitlines() if "warning:" not in line]
    assert not [line for line in errors if "a_good.ndjson" in line or "d_sample" in line], p.stderr
    # The same records again, a year apart: the built-in correlations may warn
    # that a late match of a group could not be counted; nothing else is told.
    for line in p.stderr.splitlines():
        if "warning:" in line and ("a_good.ndjson" in line or "d_sample" in line):
            assert "limit correlation_lateness" in line, line


def test_missing_path_is_reported_and_others_scanned(tmp_path: Path) -> None:
    p = run("scan", "--json", str(tmp_path / "nope.json.gz"), str(SAMPLE))
    assert p.returncode == 4
    assert "nope.json.gz: No such file or directory" in p.stderr
    assert len(json_alerts(p.stdout)) == SAMPLE_ALERTS


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "locked.json"
    f.write_text("{}")
    f.chmod(0)
    p = run("scan", str(f), str(SAMPLE))
    assert p.returncode == 4
    assert "locked.json: cannot open: Permission denied" in p.stderr


def test_incomplete_records_are_counted_not_errors(tmp_path: Path) -> None:
    f = tmp_path / "partial.ndjson"
    rec = json.loads(fixture_lines("rds_snapshot_made_public")[0])
    del rec["awsRegion"]
    f.write_text(json.dumps(rec) + "\n" + fixture_lines("rds_snapshot_made_public")[0] + "\n")
    p = run("scan", "--json", str(f))
    assert p.returncode == 0
    assert len(json_alerts(p.stdout)) == 2  # evaluated anyway
    assert "1 incomplete record" in p.stderr
    p = run("scan", "-v", "-q", str(f))
    assert "record 0 at byte 0" in p.stderr and "evaluated anyway" in p.stderr


def test_large_file_is_streamed(tmp_path: Path) -> None:
    if SANITIZED:
        pytest.skip("RSS is meaningless under ASan")
    line = fixture_lines("rds_instance_made_public")[3]  # harmless: no alert
    f = tmp_path / "big.ndjson"
    with open(f, "w") as out:
        block = (line + "\n") * 1000
        while out.tell() < 48 * 1024 * 1024:
            out.write(block)
    size = f.stat().st_size
    # Peak RSS of the process image after exec (VmHWM), sampled while it runs:
    # rusage would also count the memory of the forking test process.
    errf = tmp_path / "err.txt"
    with open(errf, "wb") as err:
        proc = subprocess.Popen([str(CLI), "scan", "--stats", str(f)], stdout=subprocess.DEVNULL, stderr=err)
        rss_kib = 0
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                break
            m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            if m and f"{CLI.name}" in status.split("\n", 1)[0]:
                rss_kib = max(rss_kib, int(m.group(1)))
            time.sleep(0.01)
        proc.wait(timeout=600)
    assert proc.returncode == 0, errf.read_text()
    assert "stats: 1 input" in errf.read_text()
    assert rss_kib > 0, "could not sample the process"
    print(f"max RSS {rss_kib} KiB")
    assert rss_kib * 1024 < size / 2, f"max RSS {rss_kib} KiB for a {size} byte file: not streamed?"


def test_progress_line_only_on_a_terminal_for_long_scans() -> None:
    data = SAMPLE.read_bytes()
    # stderr is a pipe: never a progress line
    assert "scanning:" not in run("scan", "-q", str(SAMPLE)).stderr
    # stderr is a terminal and the scan lasts > 1 s (stdin trickles in)
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(CLI), "scan", "-q", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    assert proc.stdin
    half = len(data) // 2
    proc.stdin.write(data[:half])
    proc.stdin.flush()
    time.sleep(1.3)
    proc.stdin.write(data[half:])
    proc.stdin.close()
    seen = b""
    deadline = time.time() + 30
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0
    text = seen.decode("utf-8", "replace")
    assert "scanning: 0/1 files" in text, text
    assert "\r\x1b[K" in text  # the line is cleared at the end


# ------------------------------------------------------------------ scan: options

def test_fail_on_alert_exit_codes(tmp_path: Path) -> None:
    assert run("scan", "--fail-on-alert", str(SAMPLE)).returncode == 1
    quiet = tmp_path / "quiet.ndjson"
    quiet.write_text(fixture_lines("rds_instance_made_public")[4] + "\n")  # a storage change
    assert run("scan", "--fail-on-alert", str(quiet)).returncode == 0
    # An input error wins over alerts.
    assert run("scan", "--fail-on-alert", str(SAMPLE), str(tmp_path / "missing")).returncode == 4


def test_min_priority() -> None:
    alerts = json_alerts(run("scan", "--json", "--min-priority", "critical", str(SAMPLE)).stdout)
    assert len(alerts) == 7
    assert {a["priority"] for a in alerts} == {"Critical"}
    alerts = json_alerts(run("scan", "--json", "--min-priority=warning", str(SAMPLE)).stdout)
    assert len(alerts) == 9


def test_tags_and_rule_globs() -> None:
    def rules(*args: str) -> list[str]:
        p = run("scan", "--json", *args, str(SAMPLE))
        assert p.returncode == 0, p.stderr
        return [a["rule"] for a in json_alerts(p.stdout)]

    t1537 = rules("--enable-tag", "T1537")
    assert set(t1537) == {"RDS Snapshot Shared With Foreign Account", "RDS Snapshot Exported To S3",
                          "RDS Public Exposure Attempt Denied", "RDS Manual Snapshot Created"}
    assert not set(rules("--disable-tag", "T1537")) & {"RDS Snapshot Shared With Foreign Account",
                                                       "RDS Snapshot Exported To S3"}
    assert set(rules("--rule", "*Snapshot*")) == {"RDS Snapshot Shared With Foreign Account",
                                                  "RDS Instance Deleted Without Final Snapshot",
                                                  "RDS Snapshot Exported To S3", "RDS Manual Snapshot Created",
                                                  "RDS Snapshot Enumeration"}
    both = rules("--rule", "RDS Instance Made Public", "--enable-tag", "T1490")
    assert set(both) == {"RDS Instance Made Public", "RDS Instance Deleted Without Final Snapshot",
                         "RDS Automated Backups Disabled", "RDS Deletion Protection Disabled"}
    assert "RDS Automated Backups Disabled" not in rules("--enable-tag", "T1490", "--disable-rule", "*Backups*")
    p = run("scan", "--rule", "No Such Rule", str(SAMPLE))
    assert p.returncode == 0 and p.stdout == ""
    assert "no rule is enabled" in p.stderr


def test_first_match() -> None:
    line = fixture_lines("rds_snapshot_made_public")[1]  # "all" and a foreign account: two rules
    assert len(json_alerts(run("scan", "--json", "-", stdin=line.encode()).stdout)) == 2
    assert len(json_alerts(run("scan", "--json", "--first-match", "-", stdin=line.encode()).stdout)) == 1


def test_custom_rules_files(tmp_path: Path) -> None:
    custom = tmp_path / "custom.yaml"
    custom.write_text(
        "- rule: Any RDS Snapshot Created\n"
        "  desc: every manual snapshot\n"
        "  condition: ct.name = CreateDBSnapshot and not ct.error exists\n"
        "  output: snapshot %rds.snapshot of %rds.instance by %ct.user.arn\n"
        "  priority: INFO\n"
        "  source: aws_cloudtrail\n"
        "  tags: [mine]\n")
    more = tmp_path / "more.yaml"
    more.write_text(
        "- rule: Any RDS Snapshot Created\n"
        "  enabled: false\n"
        "  override:\n"
        "    enabled: replace\n")
    p = run("scan", "--json", "--no-builtin", "-r", str(custom), str(SAMPLE))
    assert p.returncode == 0, p.stderr
    alerts = json_alerts(p.stdout)
    assert [a["rule"] for a in alerts] == ["Any RDS Snapshot Created"] * 2
    assert alerts[0]["priority"] == "Informational"
    assert alerts[0]["tags"] == ["mine"]
    # Together with the built-in rules, and a second file that disables it again.
    assert len(json_alerts(run("scan", "--json", "-r", str(custom), str(SAMPLE)).stdout)) == SAMPLE_ALERTS + 2
    assert len(json_alerts(run("scan", "--json", "-r", str(custom), "-r", str(more), str(SAMPLE)).stdout)) == SAMPLE_ALERTS


def test_bad_rules_file_exit_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: Broken\n  desc: x\n  condition: ct.name = X and nosuch.field = 1\n"
                   "  output: x\n  priority: WARNING\n  source: aws_cloudtrail\n")
    p = run("scan", "-r", str(bad), str(SAMPLE))
    assert p.returncode == 3
    assert p.stdout == ""
    assert re.search(r"bad\.yaml:3:\d+: error: ", p.stderr)
    p = run("scan", "-r", str(tmp_path / "absent.yaml"), str(SAMPLE))
    assert p.returncode == 3
    assert "absent.yaml" in p.stderr


# ------------------------------------------------------------------ validate, list

def test_validate_builtin() -> None:
    p = run("validate")
    assert p.returncode == 0
    assert re.search(r"built-in rules: ok: (\d+) rules \(\1 enabled\), 0 warnings", p.stdout)
    assert run("validate", "--werror").returncode == 0
    assert run("validate", "--no-builtin", str(RULES_YAML)).returncode == 0


def test_validate_reports_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: Broken\n  desc: x\n  condition: ct.name = X and (ct.user = a\n"
                   "  output: x\n  priority: WARNING\n  source: aws_cloudtrail\n")
    p = run("validate", str(bad))
    assert p.returncode == 3
    assert re.search(rf"{re.escape(str(bad))}:3:\d+: error: .*", p.stdout)
    assert "1 error" in p.stdout
    yaml_err = tmp_path / "yaml.yaml"
    yaml_err.write_text("- rule: x\n  desc: [unclosed\n")
    p = run("validate", "--no-builtin", str(yaml_err))
    assert p.returncode == 3
    assert re.search(rf"{re.escape(str(yaml_err))}:\d+:\d+: error:", p.stdout)
    warn = tmp_path / "warn.yaml"
    warn.write_text("- macro: unused_macro\n  condition: ct.name = X\n")
    p = run("validate", str(warn))
    assert p.returncode == 0 and "warning" in p.stdout
    assert run("validate", "--werror", str(warn)).returncode == 3


def test_list_rules_and_fields() -> None:
    p = run("list")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["PRIORITY", "RULE", "TAGS"]
    names = builtin_rule_names()
    assert lines[-1] == f"{len(names)} rules, {len(names)} enabled"
    for name in names:
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+aws aws_rds", p.stdout, re.M), name
    for name in ("RDS Snapshot Exfiltration Sequence", "RDS Mass Deletion", "RDS Database Public Window"):
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+.*\bsigma\.correlation\b", p.stdout, re.M), name
    p = run("list", "--min-priority", "critical")
    assert "(disabled)" in p.stdout
    p = run("list", "-v", "--rule", "RDS Snapshot Made Public")
    assert "desc:" in p.stdout and "condition:" in p.stdout
    p = run("list", "--fields")
    assert re.search(r"^rds\.shared\.foreign\s+string\s+", p.stdout, re.M)
    assert re.search(r"^ct\.user\s+string", p.stdout, re.M)


# ------------------------------------------------------------------ test (fixtures)

def test_builtin_fixtures_pass() -> None:
    p = run("test")
    assert p.returncode == 0, p.stdout + p.stderr
    n = len(builtin_rule_names())  # the correlations' fixtures included
    assert "fixtures: " + str(CORRELATIONS_YAML.parent / "correlation_tests") in p.stdout
    assert p.stdout.count("\nPASS ") + p.stdout.startswith("PASS ") == n
    assert re.search(rf"ctrule test: {n} passed, 0 failed, 0 untested", p.stdout)


def test_fixture_failures_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- rule: RDS Snapshot Deleted\n"
                      "  condition: ct.name = DeleteDBSnapshot and rds_call_succeeded\n"
                      "  override:\n    condition: replace\n")
    p = run("test", "-r", str(broken))
    assert p.returncode == 1
    assert "FAIL      RDS Snapshot Deleted" in p.stdout
    assert "AWS Backup lifecycle" in p.stdout and "expected no alert" in p.stdout
    # With -r, the rules the file changes are the ones tested (the other
    # built-in rules have their own fixtures).
    assert "ctrule test: 0 passed, 1 failed, 0 untested (1 rules;" in p.stdout
    assert "PASS " not in p.stdout


def test_custom_fixture_directory(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- rule: Snapshot Public\n  desc: d\n"
                     "  condition: ct.name = ModifyDBSnapshotAttribute and rds.shared.public = true\n"
                     "  output: public %rds.snapshot\n  priority: CRITICAL\n  source: aws_cloudtrail\n")
    fx = tmp_path / "fx"
    fx.mkdir()
    lines = fixture_lines("rds_snapshot_made_public")
    (fx / "public.ndjson").write_text("\n".join(lines[:4]) + "\n")
    expect = ("rule: Snapshot Public\n1 alert all\n2 alert all+foreign\n3 quiet removed\n4 quiet foreign\n"
              "1 output public orders-prod-2025-06-01\n")
    (fx / "public.expect").write_text(expect)
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS      Snapshot Public  (2 alert, 2 quiet checks)" in p.stdout
    # A wrong expectation fails, naming the file, line and record.
    (fx / "public.expect").write_text(expect.replace("3 quiet", "3 alert"))
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 1
    assert "public.expect:4: record 3 (removed): expected an alert, got none" in p.stdout
    # An unchecked record and an unknown rule fail too.
    (fx / "public.expect").write_text("rule: Snapshot Public\n1 alert a\n2 alert b\n3 quiet c\n")
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 1 and "record 4 of public.ndjson has no check" in p.stdout
    (fx / "public.expect").write_text(expect + "rule: Nope\n1 quiet x\n")
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 1 and "no rule named 'Nope'" in p.stdout
    # Too few checks: UNTESTED (exit 1 unless --allow-untested).
    (fx / "public.ndjson").write_text("\n".join(lines[:3]) + "\n")
    (fx / "public.expect").write_text("rule: Snapshot Public\n1 alert a\n2 alert b\n3 quiet c\n")
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 1 and "UNTESTED  Snapshot Public" in p.stdout
    assert run("test", "--allow-untested", "--no-builtin", "-r", str(rules), str(fx)).returncode == 0
    # A syntax error in the expectations.
    (fx / "public.expect").write_text("rule: Snapshot Public\n1 maybe\n")
    p = run("test", "--no-builtin", "-r", str(rules), str(fx))
    assert p.returncode == 1 and "unknown check 'maybe'" in p.stderr


# ------------------------------------------------------------------ the ruleset's conventions

def rules_doc() -> list[dict]:
    return [i for i in yaml.safe_load(RULES_YAML.read_text()) if "rule" in i]


@pytest.mark.parametrize("rule", rules_doc(), ids=lambda r: r["rule"])
def test_rule_conventions(rule: dict) -> None:
    assert rule["source"] == "aws_cloudtrail"
    assert len(rule["desc"]) > 80, "the desc says why the change matters"
    tags = rule["tags"]
    assert tags[:2] == ["aws", "aws_rds"]
    assert any(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in tags), "a MITRE ATT&CK technique id"
    out = rule["output"]
    for field in ("%ct.user ", "%ct.user.arn", "%ct.user.accountid", "%ct.region", "%ct.srcip", "%ct.useragent"):
        assert field in out
    cond = rule["condition"]
    assert cond.lstrip().startswith("ct.name"), "the eventName first (index)"
    if rule["rule"] == "RDS Public Exposure Attempt Denied":
        assert "ct.error in" in cond
    else:
        assert "rds_call_succeeded" in cond or "not ct.error exists" in cond
    expect = FIXTURES / (re.sub(r"[^a-z0-9]+", "_", rule["rule"].lower()).strip("_") + ".expect")
    text = expect.read_text()
    assert len(re.findall(r"^\d+ alert ", text, re.M)) >= 1
    assert len(re.findall(r"^\d+ quiet ", text, re.M)) >= 2
    assert re.search(r"^\d+ quiet .*(failed|denied|succeeded)", text, re.M | re.I), "a failed-call fixture"


REQUIRED = {  # the twelve events of the original requirement, with their priorities
    "RDS Instance Made Public": "CRITICAL", "RDS Snapshot Made Public": "CRITICAL",
    "RDS Snapshot Attribute Modified": "WARNING", "RDS DB Security Group Ingress Revoked": "CRITICAL",
    "RDS DB Security Group Ingress Authorized": "CRITICAL", "RDS DB Security Group Created": "CRITICAL",
    "RDS DB Security Group Deleted": "CRITICAL", "RDS Cluster Created": "WARNING", "RDS Cluster Deleted": "CRITICAL",
    "RDS Instance Stopped": "WARNING", "RDS Snapshot Deleted": "WARNING", "RDS Cluster Stopped": "WARNING",
}


def test_original_twelve_with_their_priorities() -> None:
    got = {r["rule"]: r["priority"] for r in rules_doc()}
    for name, prio in REQUIRED.items():
        assert got.get(name) == prio, name


# ------------------------------------------------------------------ generated data stays in sync

def corpus_or_skip() -> None:
    if not (CORPUS / "records.ndjson").exists():
        if REQUIRE_DATA:
            pytest.fail(f"shared corpus missing at {CORPUS}")
        pytest.skip(f"shared corpus missing at {CORPUS}")


def test_fixtures_match_their_generator() -> None:
    corpus_or_skip()
    p = subprocess.run([sys.executable, str(FIXTURES / "make_fixtures.py"), "--check"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_sample_matches_its_generator() -> None:
    corpus_or_skip()
    p = subprocess.run([sys.executable, str(REPO / "examples" / "data" / "make_sample.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_sample_is_a_cloudtrail_log_file() -> None:
    raw = SAMPLE.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    doc = json.loads(gzip.decompress(raw))
    assert list(doc) == ["Records"] and len(doc["Records"]) > 50


# ------------------------------------------------------------------ docs/rds-rules.md

DOC = REPO / "docs" / "rds-rules.md"


def doc_block(marker: str) -> str:
    text = DOC.read_text()
    start = text.index(f"<!-- {marker}")
    m = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    assert m, marker
    return m.group(1)


def test_doc_worked_example_runs(tmp_path: Path) -> None:
    mine = tmp_path / "my_rules.yaml"
    mine.write_text(doc_block("worked-example"))
    p = run("validate", "--werror", str(mine))
    assert p.returncode == 0, p.stdout
    start = json.loads(fixture_lines("rds_instance_stopped")[2])
    assert start["eventName"] == "StartDBInstance"
    reboot = dict(start, eventName="RebootDBInstance",
                  requestParameters={"dBInstanceIdentifier": "orders-prod", "forceFailover": True})
    p = run("scan", "--json", "-r", str(mine), "--rule", "RDS Instance Rebooted", "-",
            stdin=(json.dumps(start) + "\n" + json.dumps(reboot) + "\n").encode())
    assert p.returncode == 0, p.stderr
    alerts = json_alerts(p.stdout)
    assert [a["rule"] for a in alerts] == ["RDS Instance Rebooted"]
    assert alerts[0]["priority"] == "Notice"
    assert "instance=orders-prod force_failover=true" in alerts[0]["output"]


def test_doc_tuning_example_works(tmp_path: Path) -> None:
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text(doc_block("tuning-example"))
    assert run("validate", "--werror", str(tuning)).returncode == 0
    listed = run("list", "-r", str(tuning)).stdout
    assert re.search(r"RDS DB Security Group Created .*\(disabled\)", listed)
    share = json.loads(fixture_lines("rds_snapshot_shared_with_foreign_account")[1])
    vault = dict(share, requestParameters=dict(share["requestParameters"], valuesToAdd=["999988887777"]))
    data = (json.dumps(share) + "\n" + json.dumps(vault) + "\n").encode()
    base = [a["rule"] for a in json_alerts(run("scan", "--json", "-", stdin=data).stdout)]
    tuned = [a["rule"] for a in json_alerts(run("scan", "--json", "-r", str(tuning), "-", stdin=data).stdout)]
    assert base.count("RDS Snapshot Shared With Foreign Account") == 2
    assert tuned.count("RDS Snapshot Shared With Foreign Account") == 1


def test_doc_covers_every_rule() -> None:
    text = DOC.read_text()
    headings = "\n".join(ln for ln in text.splitlines() if ln.startswith("#### "))
    for rule in rules_doc():
        assert rule["rule"] in headings, f"no section for {rule['rule']}"
        row = re.search(rf"^\| (★ )?{re.escape(rule['rule'])} \| (\w+) \|", text, re.M)
        assert row and row.group(2) == rule["priority"], f"table row of {rule['rule']}"


# ------------------------------------------------------------------ output that cannot be written

def run_to_full(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the CLI with stdout on /dev/full, where every write fails (ENOSPC)."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([str(CLI), *args], input=stdin, stdout=full, stderr=subprocess.PIPE, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", proc.stderr.decode("utf-8", "replace"))


@pytest.mark.parametrize("args", [
    ["scan", "--json", str(SAMPLE)],
    ["scan", str(SAMPLE)],
    ["scan", "--summary", "-q", str(SAMPLE)],
    ["list"],
    ["list", "--fields"],
    ["test"],
    ["validate"],
    ["--help"],
    ["--version"],
    ["help", "scan"],
])
def test_output_that_cannot_be_written_is_an_error(args: list[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    p = run_to_full(*args)
    assert p.returncode == 74, (args, p.returncode, p.stderr)
    assert "cannot write to standard output: No space left on device" in p.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_stops_at_the_first_alert_it_cannot_write(tmp_path: Path, jobs: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    # Many inputs, each alerting: a scan that went on after the first failed
    # write would read them all (--stats counts the inputs done). With -j 2
    # the workers run ahead of the printing by at most 64 inputs each and 64 more.
    for i in range(400):
        shutil.copy(SAMPLE, tmp_path / f"part-{i:03d}.json.gz")
    p = run_to_full("scan", "-j", jobs, "--json", "--stats", str(tmp_path))
    assert p.returncode == 74, p.stderr
    m = re.search(r"stats: (\d+) inputs?,", p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) == 1 if jobs == "1" else 1 <= int(m.group(1)) <= 2 * 64 + 64 + 2, p.stderr
    assert p.stderr.count("cannot write to standard output") == 1


# ------------------------------------------------------------------ the alert format (docs/alert-format.md)

ALERT_DOC = REPO / "docs" / "alert-format.md"
ALERT_SCHEMA = REPO / "docs" / "alert-format.schema.json"


def alert_validator():  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(ALERT_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("data", ["sample", "records.ndjson", "records.json.gz"])
def test_every_json_line_matches_the_alert_schema(data: str) -> None:
    path = SAMPLE if data == "sample" else CORPUS / data
    if not path.exists():
        if REQUIRE_DATA:
            pytest.fail(f"missing {path}")
        pytest.skip(f"no {path}")
    validator = alert_validator()
    p = run("scan", "--json", str(path))
    assert p.returncode in (0, 4), p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln]
    assert lines
    for ln in lines:
        errors = [e.message for e in validator.iter_errors(json.loads(ln))]
        assert not errors, (errors, ln)
        # Keys sorted at both levels, as Falco's nlohmann::json writes them.
        a = json.loads(ln)
        assert list(a) == sorted(a) and list(a["output_fields"]) == sorted(a["output_fields"])
        assert json.dumps(a, separators=(",", ":"), ensure_ascii=False) == ln, "compact, UTF-8, Falco's escapes"


def test_alert_format_doc_example_is_a_real_line() -> None:
    validator = alert_validator()
    block = re.search(r"```json\n(.*?)\n```", ALERT_DOC.read_text(), re.S)
    assert block
    doc = json.loads(block.group(1))
    assert not list(validator.iter_errors(doc))
    lines = json_alerts(run("scan", "--json", str(SAMPLE)).stdout)
    real = next(a for a in lines if a["rule"] == doc["rule"] and a["time"] == doc["time"])
    # The doc shortens the user agent and names another host; the rest is verbatim.
    agent = real["output_fields"]["ct.useragent"]
    real["output"] = real["output"].replace(agent, doc["output_fields"]["ct.useragent"])
    real["output_fields"]["ct.useragent"] = doc["output_fields"]["ct.useragent"]
    real["hostname"] = doc["hostname"]
    assert real == doc


def test_json_types_output_fields_as_falco_does(tmp_path: Path) -> None:
    rules = ("- rule: Typed\n  desc: d\n  condition: ct.name = ModifyDBInstance\n"
             "  output: r=%rds.backup_retention n=%evt.num e=%ct.error t=%evt.time\n"
             "  priority: NOTICE\n  source: aws_cloudtrail\n  tags: [b, a, b]\n")
    rec = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "userName": "u"},
           "eventTime": "2025-03-01T10:02:11.5Z", "eventSource": "rds.amazonaws.com",
           "eventName": "ModifyDBInstance", "awsRegion": "eu-west-1", "eventID": "id-1",
           "requestParameters": {"backupRetentionPeriod": 0}}
    with_rules = tmp_path / "typed.yaml"
    with_rules.write_text(rules)
    p = run("scan", "--json", "--no-builtin", "-r", str(with_rules), "-", stdin=(json.dumps(rec) + "\n").encode())
    assert p.returncode == 0, p.stderr
    [a] = json_alerts(p.stdout)
    assert a["output_fields"] == {"ct.error": None, "ct.id": "id-1", "evt.num": 1,
                                  "evt.time": 1740823331500000000, "rds.backup_retention": 0}
    assert a["output"] == "10:02:11.500000000: Notice r=0 n=1 e=<NA> t=10:02:11.500000000"
    assert a["tags"] == ["a", "b"]
    assert a["time"] == "2025-03-01T10:02:11.500000000Z"


# ------------------------------------------------------------------ wrong or empty input (docs/bad-input.md)

@pytest.mark.parametrize("data", [b"", b"  \n\n", b"[]", b'{"Records":[]}', gzip.compress(b"")])
def test_empty_input_is_a_warning(tmp_path: Path, data: bytes) -> None:
    f = tmp_path / "empty.json"
    f.write_bytes(data)
    p = run("scan", str(f))
    assert p.returncode == 0, p.stderr
    assert f"warning: {f}: empty input: no record in it" in p.stderr
    p = run("scan", "-", stdin=data)
    assert p.returncode == 0 and "warning: <stdin>: empty input: no record in it" in p.stderr, p.stderr


@pytest.mark.parametrize("data,bad,incomplete", [
    (b"hello world\n", 1, 0),
    (b'{"hello":"world"}', 0, 1),
    (b'{"Records":[{"a":1},{"b":2}]}', 0, 2),
    (b'{"a":1}\nnot json\n', 1, 1),
])
def test_input_without_a_cloudtrail_record_is_an_error(tmp_path: Path, data: bytes, bad: int,
                                                        incomplete: int) -> None:
    f = tmp_path / "wrong.json"
    f.write_bytes(gzip.compress(data))
    p = run("scan", str(f))
    assert p.returncode == 4, p.stderr
    n = bad + incomplete
    assert (f"{f}: no CloudTrail record in this input ({n} value{'s' if n > 1 else ''}: {bad} not a JSON "
            f"record, {incomplete} without the CloudTrail keys)") in p.stderr


def test_a_record_reported_twice_counts_once(tmp_path: Path) -> None:
    # Without awsRegion (incomplete) and without a valid eventTime (its match
    # not counted by the built-in RDS Mass Deletion correlation): two
    # reports, one record. Beside a good record the input holds a CloudTrail
    # record (exit 0, with 1 or 2 workers); the correlation's report is told
    # without -v (an alert may be missing), the incomplete record counted.
    odd = {"eventVersion": "1.10", "eventTime": "bogus", "eventSource": "rds.amazonaws.com",
           "eventName": "DeleteDBInstance", "eventType": "AwsApiCall", "eventID": "e1",
           "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                            "accountId": "111122223333"},
           "requestParameters": {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": False}}
    good = dict(odd, eventTime="2025-06-03T09:00:00Z", awsRegion="us-east-1", eventName="DescribeDBInstances",
                eventID="e2")
    f = tmp_path / "two.json"
    f.write_text(json.dumps(odd) + "\n" + json.dumps(good) + "\n")
    for jobs in ("1", "2"):
        p = run("scan", "-j", jobs, str(f), str(f))
        assert p.returncode == 0, p.stderr
        assert p.stdout.count("RDS Instance Deleted") == 2, p.stdout
        assert p.stderr.count(f"warning: {f}: 1 incomplete record (a CloudTrail key missing") == 2, p.stderr
        assert p.stderr.count(f"warning: {f}: record 0 at byte 0: correlation 'RDS Mass Deletion': the match of "
                              "'RDS Instance Deleted' is not counted: the record has no valid eventTime") == 2, p.stderr
    alone = tmp_path / "odd.json"
    alone.write_text(json.dumps(odd) + "\n")
    p = run("scan", str(alone))
    assert p.returncode == 4 and (f"{alone}: no CloudTrail record in this input (1 value: 0 not a JSON record, "
                                  "1 without the CloudTrail keys)") in p.stderr, p.stderr


def test_one_cloudtrail_record_among_wrong_values_is_not_that_error(tmp_path: Path) -> None:
    good = fixture_lines("rds_instance_stopped")[0]
    f = tmp_path / "mixed.json"
    f.write_text('{"a":1}\n' + good + "\n")
    p = run("scan", str(f))
    assert p.returncode == 0, p.stderr
    assert "no CloudTrail record" not in p.stderr and "empty input" not in p.stderr


def test_test_reports_the_rules_of_the_given_files(tmp_path: Path) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("- rule: Snapshot Public\n  desc: d\n"
                     "  condition: ct.name = ModifyDBSnapshotAttribute and json.value[/requestParameters/valuesToAdd] "
                     "contains all\n  output: public\n  priority: CRITICAL\n  source: aws_cloudtrail\n")
    fx = tmp_path / "fx"
    fx.mkdir()
    lines = fixture_lines("rds_snapshot_made_public")
    (fx / "public.ndjson").write_text("\n".join(lines[:4]) + "\n")
    (fx / "public.expect").write_text("rule: Snapshot Public\n1 alert all\n2 alert all+foreign\n"
                                      "3 quiet removed\n4 quiet foreign\n")
    # Built-in rules loaded first (the CLI's default), yet only the file's rule is reported.
    p = run("test", "-r", str(rules), str(fx))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS      Snapshot Public" in p.stdout and "UNTESTED" not in p.stdout
    assert "ctrule test: 1 passed, 0 failed, 0 untested (1 rules;" in p.stdout


def test_test_rule_glob(tmp_path: Path) -> None:
    p = run("test", "--rule", "RDS Instance Stopped", "--rule", "RDS Cluster Stopp?d")
    assert p.returncode == 0, p.stdout + p.stderr
    reported = re.findall(r"^(?:PASS|FAIL|UNTESTED) +(.+?)  \(", p.stdout, re.M)
    assert reported == ["RDS Cluster Stopped", "RDS Instance Stopped"] or \
        sorted(reported) == ["RDS Cluster Stopped", "RDS Instance Stopped"]
    assert "ctrule test: 2 passed, 0 failed, 0 untested (2 rules;" in p.stdout
    p = run("test", "--rule", "No Such Rule*")
    assert p.returncode == 2 and "no rule to test matches --rule" in p.stderr


# ------------------------------------------------------------------ scan -j N: parallel, same output

def make_mixed_tree(tmp: Path) -> Path:
    """Many inputs of every kind: alerting gzip log files, every fixture,
    bad JSON, a corrupt gzip, an empty file, JSON without CloudTrail keys,
    a file large enough to be mapped, in nested directories."""
    top = tmp / "mixed"
    for i in range(6):
        day = top / "AWSLogs" / f"11112222333{i}" / "CloudTrail" / "us-east-1"
        day.mkdir(parents=True)
        for k in range(3):
            shutil.copy(SAMPLE, day / f"part-{k}.json.gz")
    fx = top / "fixtures"
    fx.mkdir()
    for f in sorted(FIXTURES.glob("*.ndjson")):
        shutil.copy(f, fx / f.name)
    bad = top / "bad"
    bad.mkdir()
    good = fixture_lines("rds_snapshot_shared_with_foreign_account")
    (bad / "a_bad.ndjson").write_text(good[0] + "\n" + '{"eventVersion":"1.10","eventName": oops}' + "\n"
                                      + good[1] + "\n")
    raw = gzip.compress("\n".join(good).encode(), mtime=0)
    (bad / "b_corrupt.json.gz").write_bytes(raw[: len(raw) // 2] + b"\x00garbage" * 8)
    (bad / "c_empty.json").write_bytes(b"")
    (bad / "d_nokeys.json").write_text('{"a": 1}\n{"b": 2}\n')
    (bad / "e_truncated.json").write_text(good[0][:-40])
    lines = fixture_lines("rds_instance_made_public") * 200  # ~ several hundred KiB: mapped
    (top / "large.ndjson").write_text("\n".join(lines) + "\n")
    return top


def run_merged(*args: str) -> tuple[int, bytes]:
    """stdout and stderr on one pipe, as `2>&1` shows them."""
    proc = subprocess.run([str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    return proc.returncode, proc.stdout


STATS_TIME = re.compile(rb"read in [0-9.]+ s \([^)]*\)")


@pytest.mark.parametrize("opts", [
    ["--json"],
    [],
    ["--summary", "--color=always"],
    ["--json", "--summary", "-v", "--first-match"],
    ["-q", "--stats", "--fail-on-alert"],
])
def test_jobs_output_is_that_of_one_job_byte_for_byte(tmp_path: Path, opts: list[str]) -> None:
    top = make_mixed_tree(tmp_path)
    paths = [str(top), str(tmp_path / "missing.json"), str(SAMPLE)]
    one = run("scan", "-j", "1", *opts, *paths)
    assert one.returncode == 4, one.stderr
    assert "a_bad.ndjson: record 1 at byte" in one.stderr and "b_corrupt.json.gz:" in one.stderr
    merged_one = run_merged("scan", "-j1", *opts, *paths)
    for jobs in ("2", "3", "8"):
        p = run("scan", "-j", jobs, *opts, *paths)
        assert p.returncode == one.returncode, (jobs, p.stderr)
        assert p.stdout == one.stdout, jobs
        assert STATS_TIME.sub(b"", p.stderr.encode()) == STATS_TIME.sub(b"", one.stderr.encode()), jobs
        rc, merged = run_merged("scan", f"--jobs={jobs}", *opts, *paths)
        assert rc == merged_one[0]
        assert STATS_TIME.sub(b"", merged) == STATS_TIME.sub(b"", merged_one[1]), jobs


def test_jobs_default_is_parallel_and_the_same(tmp_path: Path) -> None:
    top = make_mixed_tree(tmp_path)
    one = run_merged("scan", "-j", "1", "--json", "--stats", str(top))
    default = run_merged("scan", "--json", "--stats", str(top))
    assert default[0] == one[0] == 4
    assert STATS_TIME.sub(b"", default[1]) == STATS_TIME.sub(b"", one[1])


def make_many_inputs(tmp: Path, n: int) -> Path:
    """n inputs, more than -j 2 runs ahead of the printing (64 per worker and
    64), so that workers wait for it and inputs finish out of order: alerting
    gzip files, a bad record, a corrupt gzip, an empty file, every few inputs."""
    top = tmp / "many"
    top.mkdir()
    good = fixture_lines("rds_snapshot_shared_with_foreign_account")
    raw = gzip.compress("\n".join(good).encode(), mtime=0)
    for i in range(n):
        f = top / f"{i:04d}"
        kind = i % 10
        if kind == 3:
            f.with_suffix(".ndjson").write_text(good[0] + "\n{\"eventName\": oops}\n" + good[1] + "\n")
        elif kind == 6:
            f.with_suffix(".json.gz").write_bytes(raw[: len(raw) // 2] + b"\x00garbage" * 8)
        elif kind == 8 and i % 30 == 8:
            f.with_suffix(".json").write_bytes(b"")
        else:
            shutil.copy(SAMPLE, f.with_suffix(".json.gz"))
    return top


@pytest.mark.parametrize("opts", [["--json", "--summary", "--stats"], ["--summary", "--stats", "-v"]])
def test_jobs_on_many_inputs_is_one_job_byte_for_byte(tmp_path: Path, opts: list[str]) -> None:
    top = make_many_inputs(tmp_path, 400)
    one = run("scan", "-j1", *opts, str(top))
    assert one.returncode == 4, one.stderr
    assert one.stdout.count("\n") > 400 and "0003.ndjson: record 1 at byte" in one.stderr
    assert "0006.json.gz:" in one.stderr and "0008.json: empty input" in one.stderr
    assert "ctrule: stats: 400 inputs" in one.stderr
    merged_one = run_merged("scan", "-j1", *opts, str(top))
    for _ in range(2):  # the order in which inputs finish differs from run to run
        two = run("scan", "-j2", *opts, str(top))
        assert two.returncode == 4 and two.stdout == one.stdout
        assert STATS_TIME.sub(b"", two.stderr.encode()) == STATS_TIME.sub(b"", one.stderr.encode())
        rc, merged = run_merged("scan", "-j2", *opts, str(top))
        assert rc == 4 and STATS_TIME.sub(b"", merged) == STATS_TIME.sub(b"", merged_one[1])


def bytes_read_by(pid: int) -> int:
    for ln in Path(f"/proc/{pid}/io").read_text().splitlines():
        if ln.startswith("rchar:"):
            return int(ln.split()[1])
    raise AssertionError("no rchar")


def scan_behind_fifo(fifo: Path, body: bytes, args: list[str], settle: bool) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """Runs ctrule with `fifo` among its inputs, writing `body` into it only
    once what ctrule reads stopped growing for a second (settle); returns the
    run and what it had read by then."""
    proc = subprocess.Popen([str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read = -1
        if settle:
            since, deadline = time.monotonic(), time.monotonic() + 120
            while time.monotonic() < deadline:
                n = bytes_read_by(proc.pid)
                if n != read:
                    read, since = n, time.monotonic()
                elif time.monotonic() - since >= 1.0:
                    break
                time.sleep(0.05)
        def feed() -> None:  # beside communicate(): ctrule may print before it read the whole FIFO
            with open(fifo, "wb") as w:
                w.write(body)
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        out, err = proc.communicate(timeout=120)
        writer.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), read


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="no /proc/PID/io")
def test_jobs_read_ahead_is_bounded(tmp_path: Path) -> None:
    # The first input a FIFO nobody writes to yet: -j 2's other worker scans
    # the inputs after it up to the bound (64 per worker and 64: inputs 1 to
    # 191) and then waits, whatever the number of inputs; once the FIFO is
    # written, everything comes out as -j 1 prints it.
    fifo = tmp_path / "first.ndjson"
    os.mkfifo(fifo)
    top = tmp_path / "rest"
    top.mkdir()
    line = fixture_lines("rds_instance_made_public")[0]
    body = ((line + "\n") * (40_000 // (len(line) + 1) + 1)).encode()  # under 64 KiB: read(), not mapped
    for i in range(599):
        (top / f"{i:04d}.ndjson").write_bytes(body)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    # rchar counts what the process read(): the inputs, and what it reads to
    # start (more with the sanitizers, give or take a few KiB), measured with
    # an empty input behind the FIFO
    _, start = scan_behind_fifo(fifo, body, ["scan", "-j2", "-q", str(fifo), str(empty)], settle=True)
    args = ["--json", "--stats", str(fifo), str(top)]
    two, read = scan_behind_fifo(fifo, body, ["scan", "-j2", *args], settle=True)
    assert 190.5 * len(body) <= read - start < 191.5 * len(body), (read, start, len(body))
    one, _ = scan_behind_fifo(fifo, body, ["scan", "-j1", *args], settle=False)
    assert one.returncode == two.returncode == 0, two.stderr
    assert b"stats: 600 inputs" in one.stderr
    assert two.stdout == one.stdout and one.stdout.count(b"\n") >= 600
    assert STATS_TIME.sub(b"", two.stderr) == STATS_TIME.sub(b"", one.stderr)


@pytest.mark.parametrize("bad", ["0", "-1", "x", "3x", "257", ""])
def test_jobs_bad_value_is_a_usage_error(bad: str) -> None:
    p = run("scan", "-j", bad, str(SAMPLE))
    assert p.returncode == 2, p.stderr
    assert "-j takes a number of threads from 1 to 256" in p.stderr
    assert run("scan", "--jobs").returncode == 2


def test_jobs_with_stdin_among_files(tmp_path: Path) -> None:
    ndjson = (FIXTURES / "rds_snapshot_made_public.ndjson").read_bytes()
    one = run("scan", "-j1", str(SAMPLE), "-", str(SAMPLE), stdin=ndjson)
    two = run("scan", "-j2", str(SAMPLE), "-", str(SAMPLE), stdin=ndjson)
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    assert "<stdin> record" in two.stdout


# ------------------------------------------------------------------ reading: mapped files, stdin, pipes

def test_mapped_file_gives_what_stdin_gives(tmp_path: Path) -> None:
    # Over 16 MiB: the file is mapped in more than one window, and records
    # (alerting ones among them) straddle the window's edge.
    quiet = [ln for ln in fixture_lines("rds_snapshot_made_public")]
    lines: list[str] = []
    size = 0
    while size < 17 * 1024 * 1024 + 12345:
        for ln in quiet:
            lines.append(ln)
            size += len(ln) + 1
    data = ("\n".join(lines) + "\n").encode()
    f = tmp_path / "big.ndjson"
    f.write_bytes(data)
    from_file = run("scan", "--json", "--stats", str(f))
    from_stdin = run("scan", "--json", "--stats", "-", stdin=data)
    assert from_file.returncode == from_stdin.returncode == 0, from_file.stderr
    assert from_file.stdout == from_stdin.stdout
    assert len(json_alerts(from_file.stdout)) > 1000
    # (the same records over and over: the built-in correlations' lateness
    # warnings, on each input's name)
    assert STATS_TIME.sub(b"", from_file.stderr.replace(str(f), "<stdin>").encode()) == \
        STATS_TIME.sub(b"", from_stdin.stderr.encode())
    # and through a pipe from another process (not a regular file: read())
    piped = subprocess.run(f"cat {f} | {CLI} scan --json", shell=True, capture_output=True, timeout=120)
    assert piped.stdout.decode() == from_file.stdout


def test_stdin_redirected_from_a_file(tmp_path: Path) -> None:
    with open(SAMPLE, "rb") as fh:
        proc = subprocess.run([str(CLI), "scan", "--json", "-"], stdin=fh, capture_output=True, timeout=60)
    assert proc.returncode == 0
    assert len(json_alerts(proc.stdout.decode())) == SAMPLE_ALERTS


TRUNCATE_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
/* Cuts the file to 100 bytes right after it is mapped, as another process
 * rotating the log would: the mapped pages past the end vanish. */
static void *cut(const char *name, void *a, size_t n, int prot, int flags, int fd, off_t off)
{
  void *(*real)(void *, size_t, int, int, int, off_t) = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, name);
  void *p = real(a, n, prot, flags, fd, off);
  if (p != MAP_FAILED && fd >= 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int w = open(path, O_WRONLY);
    if (w >= 0) {
      if (ftruncate(w, 100) != 0) {}
      close(w);
    }
  }
  return p;
}
/* _FILE_OFFSET_BITS=64 builds call mmap64. */
void *mmap(void *a, size_t n, int prot, int flags, int fd, off_t off) { return cut("mmap", a, n, prot, flags, fd, off); }
void *mmap64(void *a, size_t n, int prot, int flags, int fd, off_t off) { return cut("mmap64", a, n, prot, flags, fd, off); }
"""


@pytest.mark.skipif(SANITIZED, reason="the shim must be preloaded before the sanitizer runtime")
def test_file_cut_short_while_mapped_is_a_read_error(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    src = tmp_path / "shim.c"
    src.write_text(TRUNCATE_SHIM)
    shim = tmp_path / "shim.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(shim), str(src), "-ldl"], check=True)
    line = fixture_lines("rds_snapshot_made_public")[0]
    victim = tmp_path / "victim.ndjson"
    victim.write_text((line + "\n") * (200_000 // len(line) + 1))
    other = tmp_path / "other.ndjson"
    shutil.copy(victim, other)
    for jobs in ("1", "2"):
        for f in (victim, other):
            f.write_text((line + "\n") * (200_000 // len(line) + 1))
        p = run("scan", "-j", jobs, "--json", str(victim), str(other), env={"LD_PRELOAD": str(shim)})
        assert p.returncode == 4, p.stderr  # no crash: both inputs reported, the scan finished
        assert f"{victim}: read error after 0 bytes: the file shrank while it was being read" in p.stderr
        assert f"{other}: read error after 0 bytes: the file shrank while it was being read" in p.stderr
        assert "2 inputs could not be read completely" in p.stderr


# ------------------------------------------------------------------ -o: Falco's options of the JSON line

def test_json_options_shape_the_line() -> None:
    base = json_alerts(run("scan", "--json", str(SAMPLE)).stdout)
    assert base and all({"output", "output_fields", "tags"} <= set(a) and "message" not in a for a in base)

    def with_opts(*opts: str) -> list[dict]:
        p = run("scan", "--json", *[x for o in opts for x in ("-o", o)], str(SAMPLE))
        assert p.returncode == 0, p.stderr
        return json_alerts(p.stdout)

    got = with_opts("json_include_output_property=false")
    assert [set(a) for a in got] == [set(a) - {"output"} for a in base]
    got = with_opts("json_include_output_fields_property=false")
    assert [set(a) for a in got] == [set(a) - {"output_fields"} for a in base]
    got = with_opts("json_include_tags_property=false")
    assert [set(a) for a in got] == [set(a) - {"tags"} for a in base]
    got = with_opts("json_include_message_property=true")
    for a, b in zip(got, base):
        # the output without Falco's "<time>: <Priority> " prefix
        assert b["output"].endswith(" " + a["message"]) and b["output"].startswith(a["output"][:19])
        assert a["output"] == b["output"]
    got = with_opts("time_format_iso_8601=true")
    for a, b in zip(got, base):
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+0000: ", a["output"]), a["output"]
        assert a["output"].split(": ", 1)[1] == b["output"].split(": ", 1)[1]
        assert a["time"] == b["time"]
    # the last one given wins; the defaults restored give the default line
    assert run("scan", "--json", "-o", "json_include_tags_property=false", "--option=json_include_tags_property=true",
               str(SAMPLE)).stdout == run("scan", "--json", str(SAMPLE)).stdout


@pytest.mark.parametrize("args, message", [
    (["-o", "json_include_tags_property=false", str(SAMPLE)], "shapes the --json line: give --json"),
    (["--json", "-o", "nope=true", str(SAMPLE)], "-o takes KEY=true|false with KEY one of json_include_output_property"),
    (["--json", "-o", "json_include_tags_property=yes", str(SAMPLE)], "takes true or false, not 'yes'"),
    (["--json", str(SAMPLE), "-o"], "option '-o' needs a value"),
])
def test_json_option_usage_errors(args: list[str], message: str) -> None:
    p = run("scan", *args)
    assert p.returncode == 2
    assert message in p.stderr
    assert p.stdout == ""
