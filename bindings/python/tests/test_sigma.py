"""Sigma rules through the ordinary API: a Sigma file is a rules file
(docs/sigma.md). ``ctrule.load`` / ``ctrule.loads`` take it, its rule is a
:class:`ctrule.Rule`, its matches are :class:`ctrule.Alert` objects, and a bad
Sigma document raises :class:`ctrule.RulesError` at file:line:column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import ctrule
from ctrule import Priority, RulesError

from conftest import REPO

SIGMAHQ = REPO / "tests" / "sigma" / "sigmahq"
SIGMA_FILES = sorted(SIGMAHQ.glob("*.yml"))

# docs/sigma.md, "Mapping to Falco concepts".
LEVELS = {"informational": Priority.INFORMATIONAL, "low": Priority.NOTICE,
          "medium": Priority.WARNING, "high": Priority.ERROR, "critical": Priority.CRITICAL}


def header(path: Path) -> dict[str, object]:
    """title, id, level and tags of a transcribed SigmaHQ file, read from its
    top-level lines (every file there writes them as plain scalars and a block
    list), independently of the library."""
    text = path.read_text()

    def scalar(key: str) -> str:
        m = re.search(rf"^{key}: *(.+)$", text, re.M)
        assert m, f"{path.name}: no {key}"
        return m.group(1).strip().strip("'\"")

    m = re.search(r"^tags:\n((?:  - .+\n)+)", text, re.M)
    tags = tuple(t.strip()[2:] for t in m.group(1).splitlines()) if m else ()
    return {"title": scalar("title"), "id": scalar("id"), "level": scalar("level"), "tags": tags}


def lines(path: Path) -> list[bytes]:
    return [x for x in path.read_bytes().splitlines() if x.strip()]


def test_the_sigmahq_files_are_there() -> None:
    assert len(SIGMA_FILES) >= 25, SIGMA_FILES


@pytest.mark.parametrize("path", SIGMA_FILES, ids=lambda p: p.stem)
def test_each_sigmahq_rule_is_a_rule_and_its_matches_alerts(path: Path) -> None:
    h = header(path)
    rs = ctrule.load(path, builtins=())
    assert [r.name for r in rs] == [h["title"]]
    rule = rs[str(h["title"])]
    assert rule.enabled
    assert rule.priority is LEVELS[str(h["level"])]
    assert rule.tags == (*h["tags"], "sigma", f"sigma.id:{h['id']}")  # type: ignore[misc]

    match, nomatch = lines(path.with_suffix(".match.json")), lines(path.with_suffix(".nomatch.json"))
    assert match and nomatch
    # Records that must match, then records that must not, in one stream.
    alerts = list(rs.scan(b"\n".join(match + nomatch) + b"\n"))
    assert [a.record_index for a in alerts] == list(range(len(match))), [a.output for a in alerts]
    for a, raw in zip(alerts, match):
        rec = json.loads(raw)
        assert a.rule == h["title"] and a.priority is rule.priority and a.tags == rule.tags
        assert a.raw == raw and a.event == rec
        # the same who / what / which / where as the built-in rules
        assert a.output.startswith(f"{rec['eventName']} on {rec['eventSource']} (user=")
        assert a.fields["ct.user.arn"] == rec["userIdentity"].get("arn")
        assert a.fields["ct.region"] == rec["awsRegion"]
        assert a.fields["ct.srcip"] == rec.get("sourceIPAddress")
        d = a.to_dict()
        assert (d["rule"], d["priority"], d["source"]) == (h["title"], rule.priority.label, "aws_cloudtrail")
        assert d["tags"] == sorted(set(rule.tags))  # Falco's JSON: sorted, each once
        assert d["output_fields"]["ct.id"] == rec["eventID"]


def test_sigma_rule_alert_in_detail() -> None:
    path = SIGMAHQ / "rds_snapshot_shared_external.yml"
    rs = ctrule.load(path, builtins=())
    [a] = rs.scan(path.with_suffix(".match.json"))
    assert a.rule == "AWS RDS Snapshot Shared with External Account"
    assert a.priority is Priority.ERROR  # level: high
    assert a.tags == ("attack.exfiltration", "attack.t1537", "sigma",
                      "sigma.id:97c282d9-e48d-4121-bb95-490a42325706")
    request = '{"dBSnapshotIdentifier":"snap","attributeName":"restore","valuesToAdd":["444455556666"]}'
    assert a.output == (
        "ModifyDBSnapshotAttribute on rds.amazonaws.com (user=alice "
        "arn=arn:aws:iam::111122223333:user/alice account=111122223333 resources=<NA> "
        f"request={request} region=eu-west-1 ip=203.0.113.9 agent=aws-cli/2.15 error=<NA>)")
    assert a.fields == {
        "ct.name": "ModifyDBSnapshotAttribute", "ct.src": "rds.amazonaws.com", "ct.user": "alice",
        "ct.user.arn": "arn:aws:iam::111122223333:user/alice", "ct.user.accountid": "111122223333",
        "ct.resources": None, "ct.request": request, "ct.region": "eu-west-1",
        "ct.srcip": "203.0.113.9", "ct.useragent": "aws-cli/2.15", "ct.error": None}
    assert a.time is not None and a.time.isoformat() == "2024-05-01T10:00:00+00:00"


def test_sigma_fields_are_output_fields() -> None:
    path = SIGMAHQ / "iam_backdoor_users_keys.yml"
    [a] = ctrule.load(path, builtins=()).scan(path.with_suffix(".match.json"))
    assert a.fields["json.values[userIdentity.arn]"] == "arn:aws:iam::111122223333:user/alice"
    assert a.fields["json.values[responseElements.accessKey.userName]"] == "bob"
    assert a.fields["json.values[errorCode]"] is None and a.fields["json.values[errorMessage]"] is None
    assert a.output.endswith(" error=<NA> userIdentity.arn=arn:aws:iam::111122223333:user/alice "
                             "responseElements.accessKey.userName=bob errorCode=<NA> errorMessage=<NA>)")
    assert a.to_dict()["output_fields"]["json.values[responseElements.accessKey.userName]"] == "bob"


def test_sigma_rule_next_to_the_builtin_rules() -> None:
    """As the CLI's -r: after the built-in RDS rules; both kinds alert on one record."""
    path = SIGMAHQ / "rds_snapshot_shared_external.yml"
    rs = ctrule.load(path)
    assert "AWS RDS Snapshot Shared with External Account" in rs and len(rs) > 10
    alerts = list(rs.scan(path.with_suffix(".match.json")))
    sigma = [a for a in alerts if "sigma" in a.tags]
    assert [a.rule for a in sigma] == ["AWS RDS Snapshot Shared with External Account"]
    assert any("sigma" not in a.tags for a in alerts), [a.rule for a in alerts]
    # Selection by tag works on Sigma rules as on any: "sigma" turns them all off.
    off = ctrule.load(path, exclude_tags=["sigma"])
    assert not off["AWS RDS Snapshot Shared with External Account"].enabled
    assert [a.rule for a in off.scan(path.with_suffix(".match.json"))] == \
        [a.rule for a in alerts if "sigma" not in a.tags]


# A rule written for these tests: modifiers, a negated filter, fields, level critical.
PUBLIC_RESTORE = """\
title: Public RDS Restore From Outside
id: 6f1c2d3e-0000-4000-8000-000000000001
description: A DB instance restored public, by a caller outside 10.0.0.0/8.
tags: [attack.exfiltration, team.db]
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: rds.amazonaws.com
    eventName|startswith: RestoreDBInstance
    responseElements.publiclyAccessible: 'true'
  filter_internal:
    sourceIPAddress|cidr: 10.0.0.0/8
  condition: selection and not filter_internal
fields:
  - requestParameters.dBInstanceIdentifier
level: critical
"""


def restore_record(**changes: object) -> bytes:
    rec: dict[str, object] = {
        "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "eventSource": "rds.amazonaws.com", "eventName": "RestoreDBInstanceFromDBSnapshot",
        "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15",
        "requestParameters": {"dBInstanceIdentifier": "copy", "dBSnapshotIdentifier": "snap"},
        "responseElements": {"dBInstanceIdentifier": "copy", "publiclyAccessible": True},
        "eventID": "e-1", "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}
    for key, value in changes.items():
        if value is None:
            rec.pop(key, None)
        else:
            rec[key] = value
    return json.dumps(rec).encode()


MATCHES = {
    "as built": restore_record(),
    "other restore API": restore_record(eventName="RestoreDBInstanceToPointInTime"),
    "eventName in another case": restore_record(eventName="restoredbinstancefromdbsnapshot"),
    "'true' as a string": restore_record(responseElements={"publiclyAccessible": "TRUE"}),
    "public IPv6 caller": restore_record(sourceIPAddress="2001:db8::1"),
}
NEAR_MISSES = {
    "not public": restore_record(responseElements={"publiclyAccessible": False}),
    "no publiclyAccessible": restore_record(responseElements={"dBInstanceIdentifier": "copy"}),
    "responseElements null": restore_record(responseElements=None),
    "internal caller": restore_record(sourceIPAddress="10.20.30.40"),
    "other service": restore_record(eventSource="rdsdata.amazonaws.com"),
    "not a restore": restore_record(eventName="CreateDBInstance"),
    "restore prefix not at start": restore_record(eventName="XRestoreDBInstanceFromDBSnapshot"),
}


def test_sigma_string_matches_and_near_misses() -> None:
    rs = ctrule.loads(PUBLIC_RESTORE, name="public_restore.yml")
    [rule] = rs
    assert (rule.name, rule.priority, rule.tags) == (
        "Public RDS Restore From Outside", Priority.CRITICAL,
        ("attack.exfiltration", "team.db", "sigma", "sigma.id:6f1c2d3e-0000-4000-8000-000000000001"))
    assert rule.desc == "A DB instance restored public, by a caller outside 10.0.0.0/8."
    records = list(MATCHES.values()) + list(NEAR_MISSES.values())
    data = b"\n".join(records) + b"\n"
    alerts = list(rs.scan(data))
    assert [a.record_index for a in alerts] == list(range(len(MATCHES))), \
        [list(MATCHES)[a.record_index] if a.record_index < len(MATCHES)
         else list(NEAR_MISSES)[a.record_index - len(MATCHES)] for a in alerts]
    for a in alerts:
        assert a.rule == rule.name and a.priority is Priority.CRITICAL
        assert a.fields["json.values[requestParameters.dBInstanceIdentifier]"] == "copy"
        assert " requestParameters.dBInstanceIdentifier=copy)" in a.output
    # Any chunking, with a callback: the same alerts.
    seen: list[ctrule.Alert] = []
    with rs.scanner(seen.append) as sc:
        for i in range(0, len(data), 7):
            sc.feed(data[i:i + 7])
        sc.finish()
    assert seen == alerts


def test_sigma_and_falco_documents_in_one_file_and_tuning_by_title(tmp_path: Path) -> None:
    """A Falco document after a Sigma one tunes its rule by title (docs/sigma.md)."""
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text(
        "- rule: Public RDS Restore From Outside\n"
        "  priority: NOTICE\n"
        "  override: {priority: replace}\n"
        "- rule: Public RDS Restore From Outside\n"
        "  exceptions:\n"
        "    - name: lab_account\n"
        "      fields: [ct.user.accountid]\n"
        "      values: [[111122223333]]\n"
        "  override: {exceptions: append}\n")
    sigma = tmp_path / "public_restore.yml"
    sigma.write_text(PUBLIC_RESTORE)
    other_account = json.loads(restore_record())
    other_account["userIdentity"]["accountId"] = "999988887777"
    data = restore_record() + b"\n" + json.dumps(other_account).encode() + b"\n"
    rs = ctrule.load(sigma, tuning, builtins=())
    assert rs["Public RDS Restore From Outside"].priority is Priority.NOTICE
    [a] = rs.scan(data)
    assert a.record_index == 1 and a.priority is Priority.NOTICE
    # The two kinds mixed in one file, as YAML documents.
    mixed = ctrule.loads(PUBLIC_RESTORE + "---\n" + tuning.read_text(), name="mixed.yml")
    assert [a.record_index for a in mixed.scan(data)] == [1]


BAD_BASE = "title: Bad\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  s:\n"


@pytest.mark.parametrize("text, line, column, code, words", [
    (BAD_BASE + "    eventName: x\n  condition: s | count() > 3\n",
     8, 16, "LOAD_ERR_SIGMA_UNSUPPORTED", "aggregation"),
    ("title: Bad\nlogsource:\n  product: windows\n  service: security\n"
     "detection:\n  s:\n    eventName: x\n  condition: s\n",
     3, 12, "LOAD_ERR_SIGMA_UNSUPPORTED", "windows"),
    (BAD_BASE + "    eventName|windash: x\n  condition: s\n",
     7, 15, "LOAD_ERR_SIGMA_UNSUPPORTED", "windash"),
    (BAD_BASE + "    eventName: x\n  condition: s and t\n", 8, 20, "LOAD_ERR_SIGMA", "'t'"),
    (BAD_BASE + "    eventName: x\n  condition: s\nlevel: severe\n", 9, 8, "LOAD_ERR_SIGMA", "severe"),
    (BAD_BASE + "    eventName|re: 'Create(User'\n  condition: s\n",
     7, 31, "LOAD_ERR_SIGMA", "regular expression"),
], ids=["aggregation", "logsource", "modifier", "undefined selection", "level", "regex"])
def test_bad_sigma_is_a_rules_error_at_its_position(tmp_path: Path, text: str, line: int,
                                                    column: int, code: str, words: str) -> None:
    with pytest.raises(RulesError) as ei:
        ctrule.loads(text, name="inline.yml")
    e = ei.value
    assert (e.file, e.line, e.column, e.code) == ("inline.yml", line, column, code), str(e)
    assert words in e.message and e.status == ctrule.Status.ESYNTAX
    assert str(e).startswith(f"inline.yml:{line}:{column}: error: ")
    # From a file: the path is the file; after the built-in rules, nothing changes.
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(RulesError) as ei:
        ctrule.load(path)
    assert (ei.value.file, ei.value.line, ei.value.column) == (str(path), line, column)
    assert f"{path}:{line}:{column}: error: " in str(ei.value)
    # The Compiler reports it at the step that loads the file.
    with ctrule.Compiler() as c:
        with pytest.raises(RulesError) as ei:
            c.add_file(path)
        assert [d.text for d in ei.value.errors] == [d.text for d in c.diagnostics if d.is_error]
