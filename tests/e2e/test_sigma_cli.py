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
