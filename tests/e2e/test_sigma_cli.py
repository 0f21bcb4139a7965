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


# ------------------------------------------------------------ pySigma as the reference
# pySigma (the reference Sigma parser, PyPI `pysigma`) parses each transcribed
# SigmaHQ rule; a small evaluator over its condition tree, with the data model
# of docs/sigma.md, decides every record, and the CLI must decide the same.

def _values(node, path: list[str]) -> list[str]:
    """The values a dotted path reaches: arrays crossed, null none, objects compact JSON."""
    if isinstance(node, list):
        return [v for item in node for v in _values(item, path)]
    if not path:
        if node is None:
            return []
        if isinstance(node, str):
            return [node]
        return [json.dumps(node, separators=(",", ":"), ensure_ascii=False)]
    if not isinstance(node, dict) or path[0] not in node:
        return []
    return _values(node[path[0]], path[1:])


def _glob_regex(value, cased: bool):
    import re
    from sigma.types import SpecialChars
    out = ""
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out += ".*"
        elif part == SpecialChars.WILDCARD_SINGLE:
            out += "."
        elif isinstance(part, str):
            out += re.escape(part)
        else:  # a placeholder: only whole-value ones are used here
            raise ValueError(part)
    return re.compile(out, re.S | (0 if cased else re.I))


def _matches(item, rec: dict, lists: dict[str, list[str]]) -> bool:
    import ipaddress
    import re
    from sigma import conditions as c
    from sigma import types as t
    if isinstance(item, c.ConditionAND):
        return all(_matches(a, rec, lists) for a in item.args)
    if isinstance(item, c.ConditionOR):
        return any(_matches(a, rec, lists) for a in item.args)
    if isinstance(item, c.ConditionNOT):
        return not _matches(item.args[0], rec, lists)
    assert isinstance(item, c.ConditionFieldEqualsValueExpression), item
    vals = _values(rec, item.field.split("."))
    v = item.value
    if isinstance(v, t.SigmaNull):
        return not vals
    if isinstance(v, t.SigmaExists):
        return bool(vals) == v.exists
    if isinstance(v, t.SigmaBool):
        return ("true" if v.boolean else "false") in [x.lower() for x in vals]
    if isinstance(v, t.SigmaNumber):
        return str(v.number) in vals
    if isinstance(v, t.SigmaRegularExpression):
        flags = 0
        for f in v.flags:
            flags |= {"IGNORECASE": re.I, "MULTILINE": re.M, "DOTALL": re.S}[f.name]
        return any(re.search(v.regexp.original, x, flags) for x in vals)
    if isinstance(v, t.SigmaCIDRExpression):
        nets = [ipaddress.ip_network(n, strict=False) for n in [str(v.network)]]
        out = []
        for x in vals:
            try:
                out.append(any(ipaddress.ip_address(x) in n for n in nets))
            except ValueError:
                pass
        return any(out)
    if isinstance(v, t.SigmaString) and v.contains_placeholder():
        name = v.s[0].name
        return any(x in lists[name] for x in vals)
    if isinstance(v, t.SigmaString):
        rx = _glob_regex(v, isinstance(v, t.SigmaCasedString))
        return any(rx.fullmatch(x) for x in vals)
    raise AssertionError(f"no reference for {v!r}")


def _sigma_cases():
    return sorted(SIGMAHQ.glob("*.yml"))


@pytest.mark.parametrize("rule_file", _sigma_cases(), ids=lambda p: p.stem)
def test_pysigma_reference_agrees_with_the_engine(rule_file: Path, tmp_path: Path):
    pytest.importorskip("sigma", reason="pySigma (pip install pysigma) is the reference parser")
    import yaml
    from sigma.rule import SigmaRule
    docs = list(yaml.safe_load_all(rule_file.read_text()))
    lists = {i["list"]: [str(x) for x in i["items"]] for d in docs if isinstance(d, list) for i in d if "list" in i}
    (doc,) = [d for d in docs if isinstance(d, dict)]
    rule = SigmaRule.from_dict(doc)
    trees = [cond.parse() for cond in rule.detection.parsed_condition]
    records = []
    for kind in ("match", "nomatch"):
        for i, line in enumerate((SIGMAHQ / f"{rule_file.stem}.{kind}.json").read_text().splitlines()):
            rec = json.loads(line)
            rec["eventID"] = f"{kind}-{i}"  # to tell the alerts apart
            records.append((rec, kind == "match"))
    expected = [any(_matches(t, rec, lists) for t in trees) for rec, _ in records]
    assert expected == [want for _, want in records], "the reference disagrees with the fixture files"
    data = tmp_path / "records.json"
    data.write_text("".join(json.dumps(rec) + "\n" for rec, _ in records))
    proc = run("scan", "--json", "--no-builtin", "-r", str(rule_file), str(data))
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(a["rule"] == rule.title for a in alerts)
    got_ids = sorted(a["output_fields"]["ct.id"] for a in alerts)
    assert len(alerts) == sum(expected), (alerts, expected)
    assert got_ids == sorted(rec["eventID"] for (rec, _), e in zip(records, expected) if e)


# ---------------------------------------------------------------- correlations

DELETED = ("title: Snapshot Deleted\nname: snapshot_deleted\nlogsource: {product: aws, service: cloudtrail}\n"
           "detection:\n  sel: {eventName: DeleteDBSnapshot}\n  condition: sel\nlevel: low\n")
MASS = ("title: Many Snapshot Deletions\ncorrelation:\n  type: event_count\n  rules: snapshot_deleted\n"
        "  group-by: [userIdentity.arn]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n")


def _deletion(i: int, hms: str, who: str) -> str:
    return json.dumps({"eventVersion": "1.08", "eventTime": f"2025-01-01T{hms}Z", "eventName": "DeleteDBSnapshot",
                       "eventSource": "rds.amazonaws.com", "awsRegion": "us-east-1", "eventID": f"id-{i}",
                       "eventType": "AwsApiCall", "requestParameters": {"dBSnapshotIdentifier": f"s{i}"},
                       "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::1:user/{who}", "accountId": "1"}})


def test_a_correlation_alert_across_files_as_a_falco_json_line(tmp_path: Path):
    rules = tmp_path / "corr.yml"
    rules.write_text(DELETED + "---\n" + MASS)
    # two files scanned one after the other: the state carries over
    (tmp_path / "a.json").write_text(_deletion(0, "10:00:00", "m") + "\n" + _deletion(1, "10:01:00", "z") + "\n")
    (tmp_path / "b.json").write_text(_deletion(2, "10:02:00", "m") + "\n" + _deletion(3, "10:04:59", "m") + "\n")
    # every input, in input order, whatever -j: -j 2 prints what -j 1 prints
    proc = run("scan", "-j", "1", "--no-builtin", "--json", "-r", str(rules), str(tmp_path / "a.json"),
               str(tmp_path / "b.json"))
    assert proc.returncode == 0, proc.stderr
    two = run("scan", "-j", "2", "--no-builtin", "--json", "-r", str(rules), str(tmp_path / "a.json"),
              str(tmp_path / "b.json"))
    assert (two.returncode, two.stdout, two.stderr) == (proc.returncode, proc.stdout, proc.stderr)
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(alerts) == 1, alerts  # generate: false: the base rule does not alert on its own
    a = alerts[0]
    assert a["rule"] == "Many Snapshot Deletions" and a["priority"] == "Error"
    assert a["tags"] == ["sigma", "sigma.correlation"]
    f = a["output_fields"]
    assert f["correlation.count"] == "3"
    assert f["correlation.group"] == "userIdentity.arn=arn:aws:iam::1:user/m"
    assert f["userIdentity.arn"] == "arn:aws:iam::1:user/m"
    assert f["correlation.events"] == ("id-0@2025-01-01T10:00:00Z (Snapshot Deleted), id-2@2025-01-01T10:02:00Z "
                                       "(Snapshot Deleted), id-3@2025-01-01T10:04:59Z (Snapshot Deleted)")
    assert a["time"] == "2025-01-01T10:04:59.000000000Z"
    assert "event_count of snapshot_deleted within 5m (gte 3): count=3" in a["output"]


RDS_CORRELATIONS = REPO / "libctrule" / "rules" / "aws_rds_correlations.yaml"
RDS_CORRELATION_FIXTURES = REPO / "libctrule" / "rules" / "correlation_tests"


def test_the_rds_correlations_pass_their_fixtures():
    # built in: no -r (the rules of these fixtures reported, --rule)
    names = ("RDS Instance Made Private", "RDS Snapshot Exfiltration Sequence", "RDS Mass Deletion",
             "RDS Database Public Window")
    proc = run("test", *[a for n in names for a in ("--rule", n)], str(RDS_CORRELATION_FIXTURES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ctrule test: 4 passed, 0 failed, 0 untested (4 rules;" in proc.stdout, proc.stdout
    # the fixtures are those the script writes
    check = subprocess.run(["python3", str(RDS_CORRELATION_FIXTURES / "make_fixtures.py"), "--check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_rds_correlations_fire_on_their_fixtures():
    for name, rule in (("rds_snapshot_exfiltration_sequence", "RDS Snapshot Exfiltration Sequence"),
                       ("rds_mass_deletion", "RDS Mass Deletion"), ("rds_database_public_window", "RDS Database Public Window")):
        proc = run("scan", "--json", str(RDS_CORRELATION_FIXTURES / f"{name}.ndjson"))
        assert proc.returncode == 0, proc.stderr
        fired = [json.loads(line) for line in proc.stdout.splitlines()]
        fired = [a for a in fired if "sigma.correlation" in a["tags"]]
        assert [a["rule"] for a in fired] == [rule], proc.stdout


def _fixture_records(name: str) -> list[str]:
    return (RDS_CORRELATION_FIXTURES / f"{name}.ndjson").read_text().splitlines()


def _scan_both(*args: str) -> subprocess.CompletedProcess[str]:
    """-j 1 and -j 2 agree byte for byte (stdout, stderr, exit status); -j 1's result."""
    one = run("scan", "-j", "1", *args)
    two = run("scan", "-j", "2", *args)
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    return one


def test_the_built_in_exfiltration_sequence_across_three_files(tmp_path: Path):
    # created, shared, deleted (the fixture's first three records), one per
    # file, the last inside a CloudTrail log file: found by a plain scan
    rec = _fixture_records("rds_snapshot_exfiltration_sequence")
    d = tmp_path / "logs"
    d.mkdir()
    (d / "1_create.json").write_text(rec[0] + "\n")
    (d / "2_share.json").write_text(rec[1] + "\n")
    (d / "3_delete.json").write_text('{"Records":[' + rec[2] + "]}")
    proc = _scan_both("--json", str(d))
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    corr = [a for a in alerts if "sigma.correlation" in a["tags"]]
    assert [a["rule"] for a in corr] == ["RDS Snapshot Exfiltration Sequence"], proc.stdout
    assert alerts[-1] is corr[0]  # after the completing input's own alerts (generate: true keeps them)
    assert [a["rule"] for a in alerts[:-1]] == ["RDS Manual Snapshot Created", "RDS Snapshot Shared With Foreign Account",
                                                "RDS Snapshot Deleted"]
    # text: placed on the completing record of its input
    text = _scan_both("--summary", str(d))
    assert text.returncode == 0, text.stderr
    block = text.stdout.split("RDS Snapshot Exfiltration Sequence\n", 1)[1].split("\n")
    head = len('{"Records":[')  # the record's first byte
    assert block[1] == f"    {d / '3_delete.json'} record 0 at byte {head}", block[:2]
    assert "Summary: 4 alerts" in text.stdout, text.stdout
    assert "Critical      1  RDS Snapshot Exfiltration Sequence" in text.stdout
    # the correlation's alert is summed up under its group's account, region and principal
    assert "account 111122223333  4 alerts\n  region us-east-1  4 alerts\n" in text.stdout, text.stdout
    assert "principals arn:aws:sts::111122223333:assumed-role/DevOpsDeployRole/mallory (4)" in text.stdout
    # -j 2 --stats counts it as an alert
    stats = run("scan", "-j", "2", "-q", "--stats", str(d))
    assert "; 4 alerts;" in stats.stderr, stats.stderr


def test_near_misses_across_files_stay_quiet(tmp_path: Path):
    # the fixture's near-misses (another principal, outside the hour, the
    # wrong order, failed calls), one record per file: no correlation
    rec = _fixture_records("rds_snapshot_exfiltration_sequence")
    d = tmp_path / "logs"
    d.mkdir()
    for i, line in enumerate(rec[3:]):
        (d / f"{i:03d}.json").write_text(line + "\n")
    proc = _scan_both("--json", str(d))
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert alerts and not [a for a in alerts if "sigma.correlation" in a["tags"]], proc.stdout


def test_generate_false_base_alerts_stay_silent_across_workers(tmp_path: Path):
    rules = tmp_path / "corr.yml"
    rules.write_text(DELETED + "---\n" + MASS)
    for i, (hms, who) in enumerate((("10:00:00", "m"), ("10:01:00", "z"), ("10:02:00", "m"), ("10:04:59", "m"))):
        (tmp_path / f"{i}.json").write_text(_deletion(i, hms, who) + "\n")
    files = [str(tmp_path / f"{i}.json") for i in range(4)]
    proc = _scan_both("--no-builtin", "--summary", "-r", str(rules), *files)
    assert proc.returncode == 0, proc.stderr
    assert "Many Snapshot Deletions" in proc.stdout and "Snapshot Deleted\n" not in proc.stdout, proc.stdout
    assert "Summary: 1 alert " in proc.stdout, proc.stdout


def test_a_correlation_over_its_limits_is_reported_with_the_record(tmp_path: Path):
    rules = tmp_path / "corr.yml"
    rules.write_text(DELETED + "---\n" + MASS)
    data = tmp_path / "d.json"
    data.write_text(_deletion(0, "10:00:00", "m") + "\n" + _deletion(1, "10:00:01", "z") + "\n")
    proc = run("scan", "--no-builtin", "--limit", "correlation_events=1", "-r", str(rules), str(data))
    assert proc.returncode == 0, proc.stderr
    offset = len(_deletion(0, "10:00:00", "m")) + 1  # the second record's first byte
    assert (f"{data.name}: record 1 at byte {offset}: correlation 'Many Snapshot Deletions': the match of 'Snapshot Deleted' "
            "is not counted: 1 matches are held (limit correlation_events)") in proc.stderr, proc.stderr


def test_a_condition_no_window_can_meet_is_refused_at_file_line_column(tmp_path: Path):
    rules = tmp_path / "corr.yml"
    rules.write_text(DELETED + "---\n" + MASS.replace("{gte: 3}", "{gte: 3, lt: 3}"))
    proc = run("validate", str(rules))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"{rules}:15:23: error: the condition 'gte 3 and lt 3' can never hold" in proc.stdout + proc.stderr
