"""The ctrule-hunt console script, run as a user would, on the moto bucket of
test_s3.py (3 accounts x 2 regions x 5 days x 20 objects, an org trail,
digests, a denied and a corrupt object, a late delivery)."""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_s3 import (ACCOUNTS, BUCKET, CORRUPT, DAYS, DENIED, ORG, PER_DAY, REGIONS, RULES,  # noqa: F401
                     expected, hunter_env, key)

HUNT = Path(sys.executable).parent / "ctrule-hunt"


def hunt(env: dict[str, str], *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    if not HUNT.exists():
        pytest.fail(f"{HUNT} is missing: pip install the package (it installs the console script)")
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    full = dict(os.environ, **env)
    full.pop("AWS_PROFILE", None)
    return subprocess.run([str(HUNT), "--no-builtin", "-r", str(rules), *args], capture_output=True,
                          text=True, env=full, timeout=300)


def test_json_sub_range(hunter_env: dict[str, str], tmp_path: Path) -> None:
    proc = hunt(hunter_env, "--json", "-j", "4", "--since", "2024-05-02", "--until", "2024-05-03",
                "--accounts", f"{ACCOUNTS[0]},{ACCOUNTS[2]}", "--regions", "us-east-1",
                f"s3://{BUCKET}", tmp=tmp_path)
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    ids = sorted(ln["output_fields"]["ct.id"] for ln in lines)
    assert ids == sorted(expected(dt.date(2024, 5, 2), dt.date(2024, 5, 3), [ACCOUNTS[0], ACCOUNTS[2]],
                                  ["us-east-1"]))
    assert {ln["rule"] for ln in lines} == {"Access Key Created"}
    # The corrupt object is in this range: reported, counted, and the exit status says so.
    assert proc.returncode == 1, proc.stderr
    assert f"Scanned {2 * (2 * PER_DAY + 1) + 1} objects" in proc.stderr
    assert "Objects with problems: 1 (not scanned: corrupt 1)" in proc.stderr
    assert f"s3://{BUCKET}/{key(*CORRUPT)}: corrupt: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_table_and_account_region_rule_summary(hunter_env: dict[str, str], tmp_path: Path) -> None:
    proc = hunt(hunter_env, "--since", "2024-05-01", "--until", "2024-05-01",
                f"s3://{BUCKET}/AWSLogs/", tmp=tmp_path)
    # Nothing denied or corrupt that day (05-02's denied object was delivered after 01:00).
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("2024-")]
    want = expected(dt.date(2024, 5, 1), dt.date(2024, 5, 1), ACCOUNTS, REGIONS)
    assert len(rows) == len(want) == 24
    assert all("Warning" in r and "Access Key Created: " in r for r in rows)
    assert f"Alerts: {len(want)}\n" in out
    tree = out.split("  by account / region / rule:\n")[1].split("  top principals:")[0]
    expect_tree = "".join(f"    {a}  8\n"
                          + "".join(f"      {r}  4\n        {4:7,}  Access Key Created\n"
                                    for r in REGIONS) for a in ACCOUNTS)
    assert tree == expect_tree


def test_whole_history_denied_and_corrupt(hunter_env: dict[str, str], tmp_path: Path) -> None:
    proc = hunt(hunter_env, "--json", "--since", str(DAYS[0]), "--until", str(DAYS[-1]),
                f"s3://{BUCKET}", tmp=tmp_path)
    assert proc.returncode == 1
    assert len(proc.stdout.splitlines()) == len(expected(DAYS[0], DAYS[-1], ACCOUNTS, REGIONS))
    assert "(not scanned: corrupt 1, denied 1)" in proc.stderr
    assert f"s3://{BUCKET}/{key(*DENIED)}: denied: " in proc.stderr


def test_org_prefix_local_files_and_progress(hunter_env: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "logs"
    local.mkdir()
    (local / "broken.json").write_text("{oops}\n")
    proc = hunt(hunter_env, "--progress", "always", "--since", "2024-05-03", "--until",
                "2024-05-03", "--regions", "eu-west-1", f"s3://{BUCKET}/AWSLogs/{ORG}/", str(local),
                tmp=tmp_path)
    assert proc.returncode == 1  # broken.json holds no CloudTrail record
    assert f"    {ACCOUNTS[2]}  4\n" in proc.stdout and ACCOUNTS[0] not in proc.stdout
    assert "broken.json: not-cloudtrail: " in proc.stdout
    assert "objects" in proc.stderr and "records/s" in proc.stderr and "ETA" in proc.stderr


@pytest.mark.parametrize("args, message", [
    ([f"s3://{BUCKET}"], "give since="),
    (["--since", "2024-05-01", "--accounts", "42", f"s3://{BUCKET}"], "not an AWS account id"),
    (["--since", "2024-05-01", f"s3://{BUCKET}/nothere/"], "no AWSLogs/ folder here"),
    (["-j", "0", f"s3://{BUCKET}"], "-j must be at least 1"),
])
def test_usage_errors(hunter_env: dict[str, str], tmp_path: Path, args: list[str], message: str) -> None:
    proc = hunt(hunter_env, *args, tmp=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_bucket_is_reported(hunter_env: dict[str, str], tmp_path: Path) -> None:
    proc = hunt(hunter_env, "--since", "2024-05-01", "s3://no-such-bucket-here", tmp=tmp_path)
    assert proc.returncode == 1 and "s3://no-such-bucket-here: missing: " in proc.stdout


# ---------------------------------------------------------------- README

README = Path(__file__).resolve().parents[3] / "README.md"
SAMPLE = README.parent / "examples" / "data" / "cloudtrail-sample.json.gz"


def readme_hunt() -> tuple[list[str], str]:
    """The README's hunting command and the summary it shows."""
    text = README.read_text()
    section = text.split("## Hunting through CloudTrail history in S3\n", 1)[1].split("\n## ", 1)[0]
    command = next(ln for ln in section.splitlines() if ln.startswith("ctrule-hunt s3://"))
    summary = section.split("```text\n", 1)[1].split("```", 1)[0]
    return command.split("#")[0].split(), summary


def put_sample(env: dict[str, str], bucket: str) -> None:
    """The demo's records of 2025-07-10, delivered as two log files of a trail."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket=bucket)
    doc = json.loads(gzip.decompress(SAMPLE.read_bytes()))
    for acct, region in (("123456789012", "us-east-1"), ("111122223333", "eu-west-1")):
        recs = [r for r in doc["Records"] if r.get("recipientAccountId") == acct
                and r.get("awsRegion") == region and r["eventTime"].startswith("2025-07-10")]
        s3.put_object(Bucket=bucket, Key=f"AWSLogs/{acct}/CloudTrail/{region}/2025/07/10/"
                      f"{acct}_CloudTrail_{region}_20250710T2355Z_sample.json.gz",
                      Body=gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0))


def normalize(summary: str) -> str:
    # What varies from run to run: the gzip size, the time, the thread count.
    return re.sub(r"objects \([^,]+, (.*) records\) in \S+ s with (\d+) rules and \d+ workers",
                  r"objects (N, \1 records) in T s with \2 rules and W workers", summary)


def test_readme_hunting_example(hunter_env: dict[str, str], tmp_path: Path) -> None:
    command, summary = readme_hunt()
    assert command[0] == "ctrule-hunt" and "--json" in command
    put_sample(hunter_env, command[1][5:].split("/")[0])
    env = dict(os.environ, **hunter_env)
    out = tmp_path / "alerts.ndjson"
    with open(out, "w") as f:
        proc = subprocess.run([str(HUNT), *command[1:command.index(">")]], stdout=f,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert normalize(proc.stderr) == normalize(summary)
    assert len(out.read_text().splitlines()) == int(re.search(r"Alerts: (\d+)", summary)[1])  # type: ignore[index]


def test_interrupt_stops_cleanly(hunter_env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    # The hunt must still be running when the signal comes, however loaded the
    # machine: its alerts (JSON lines, about 120 of them, some 70 KB) go to a
    # pipe shrunk to one page that the test leaves unread after the first line,
    # so the hunt blocks writing long before it could finish.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    # Ctrl-C as at a terminal: a process started with SIGINT ignored (a
    # background job, as CI may run this suite) keeps ignoring it, and so
    # would the hunt; it is exec'd with the default disposition instead.
    with_sigint = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.argv[1], sys.argv[1:])"]
    proc = subprocess.Popen([*with_sigint, str(HUNT), "--no-builtin", "-r", str(rules), "-j", "1", "--json",
                             "--since", str(DAYS[0]), "--until", str(DAYS[-1]), f"s3://{BUCKET}"],
                            stdout=write_end, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **hunter_env))
    os.close(write_end)
    with os.fdopen(read_end) as stdout:
        first = stdout.readline()  # the hunt is under way: its first alert is out
        proc.send_signal(signal.SIGINT)
        out = first + stdout.read()  # to its end, so that no write of the hunt's is left blocked
    _, err = proc.communicate(timeout=60)
    assert json.loads(first)["rule"] == "Access Key Created", first
    assert proc.returncode == 130, err
    assert "ctrule-hunt: interrupted" in err and "Traceback" not in err
    assert "Scanned" not in err  # no summary of a hunt that did not finish
    assert len(out.splitlines()) < len(expected(DAYS[0], DAYS[-1], ACCOUNTS, REGIONS))