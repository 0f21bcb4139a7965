"""Sigma correlation rules through the ordinary API (docs/sigma.md,
"Correlation rules"): a correlation is a rule of the ruleset, its alert an
ordinary :class:`ctrule.Alert` whose output and fields list the base events,
its limits those of a scanner, its mistakes a :class:`ctrule.RulesError`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ctrule
from ctrule import Priority

BASE = """\
title: RDS Snapshot Deleted
id: 11111111-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: rds.amazonaws.com
    eventName: DeleteDBSnapshot
  condition: selection
level: low
"""

MASS_DELETION = BASE + """\
---
title: RDS Snapshot Mass Deletion
id: 11111111-0000-4000-8000-000000000002
description: Three snapshots deleted by one principal within ten minutes.
tags: [attack.impact]
correlation:
  type: event_count
  rules: RDS Snapshot Deleted
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
level: critical
"""

ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"


def record(event_id: str, time: str, arn: str = ALICE, name: str = "DeleteDBSnapshot") -> bytes:
    return json.dumps({
        "eventVersion": "1.08", "eventTime": time, "eventSource": "rds.amazonaws.com",
        "eventName": name, "awsRegion": "eu-west-1", "eventID": event_id,
        "sourceIPAddress": "203.0.113.9", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333"},
        "requestParameters": {"dBSnapshotIdentifier": f"snap-{event_id}"}}).encode() + b"\n"


# Three deletions by alice within ten minutes, one by bob among them.
STREAM = [record("e-1", "2024-05-01T10:00:00Z"), record("e-2", "2024-05-01T10:03:00Z", BOB),
          record("e-3", "2024-05-01T10:04:00Z"), record("e-4", "2024-05-01T10:09:00Z")]
EVENTS = ("e-1@2024-05-01T10:00:00Z (RDS Snapshot Deleted), e-3@2024-05-01T10:04:00Z (RDS Snapshot "
          "Deleted), e-4@2024-05-01T10:09:00Z (RDS Snapshot Deleted)")


def test_a_correlation_is_a_rule() -> None:
    rs = ctrule.loads(MASS_DELETION, name="mass.yml")
    assert [r.name for r in rs] == ["RDS Snapshot Deleted", "RDS Snapshot Mass Deletion"]
    rule = rs["RDS Snapshot Mass Deletion"]
    assert rule.priority is Priority.CRITICAL and rule.enabled
    assert rule.tags == ("attack.impact", "sigma", "sigma.correlation",
                         "sigma.id:11111111-0000-4000-8000-000000000002")
    assert rule.desc == "Three snapshots deleted by one principal within ten minutes."
    assert "%correlation.events" in rule.output
    off = ctrule.loads(MASS_DELETION, exclude_tags=["sigma.correlation"])
    assert not off["RDS Snapshot Mass Deletion"].enabled and off["RDS Snapshot Deleted"].enabled


def test_the_correlation_alert_is_an_alert_listing_its_base_events() -> None:
    rs = ctrule.loads(MASS_DELETION, name="mass.yml")
    data = b"".join(STREAM)
    [a] = rs.scan(data)  # generate: false (the default): the base rule's own matches are silent
    assert isinstance(a, ctrule.Alert)
    assert (a.rule, a.priority) == ("RDS Snapshot Mass Deletion", Priority.CRITICAL)
    assert a.tags == rs["RDS Snapshot Mass Deletion"].tags
    assert a.output == ("event_count of RDS Snapshot Deleted within 10m (gte 3): count=3 "
                        f"group=userIdentity.arn={ALICE} events={EVENTS}")
    assert a.fields == {"correlation.count": "3", "correlation.group": f"userIdentity.arn={ALICE}",
                        "correlation.events": EVENTS, "userIdentity.arn": ALICE}
    # where the completing record lies, and its time
    assert (a.record_index, a.byte_offset) == (3, sum(map(len, STREAM[:3])))
    assert a.time is not None and a.time.isoformat() == "2024-05-01T10:09:00+00:00"
    # the event the engine makes names the base events
    assert a.event["eventID"] == "e-4"
    assert a.event["correlation"]["eventList"] == [
        {"eventID": e, "eventTime": t, "rule": "RDS Snapshot Deleted"}
        for e, t in (("e-1", "2024-05-01T10:00:00Z"), ("e-3", "2024-05-01T10:04:00Z"),
                     ("e-4", "2024-05-01T10:09:00Z"))]
    d = a.to_dict()
    assert (d["rule"], d["priority"], d["output_fields"]["ct.id"]) == ("RDS Snapshot Mass Deletion",
                                                                       "Critical", "e-4")
    assert d["output_fields"]["correlation.events"] == EVENTS
    # any chunking, with a callback: the same alert
    seen: list[ctrule.Alert] = []
    with rs.scanner(seen.append) as sc:
        for i in range(0, len(data), 13):
            sc.feed(data[i:i + 13])
        sc.finish()
    assert seen == [a]


@pytest.mark.parametrize("stream", [
    [record("e-1", "2024-05-01T10:00:00Z"), record("e-2", "2024-05-01T10:03:00Z", BOB),
     record("e-3", "2024-05-01T10:04:00Z")],                               # two by alice
    [record("e-1", "2024-05-01T10:00:00Z"), record("e-3", "2024-05-01T10:04:00Z"),
     record("e-4", "2024-05-01T10:10:01Z")],                               # 10 min 1 s apart
    [record("e-1", "2024-05-01T10:00:00Z"), record("e-3", "2024-05-01T10:04:00Z"),
     record("e-4", "2024-05-01T10:05:00Z", name="DeleteDBClusterSnapshot")],  # another call
], ids=["two in the group", "outside the timespan", "another call"])
def test_near_misses_make_no_alert(stream: list[bytes]) -> None:
    assert list(ctrule.loads(MASS_DELETION).scan(b"".join(stream))) == []


def test_generate_true_keeps_the_base_alerts_first() -> None:
    rs = ctrule.loads(MASS_DELETION.replace("  condition: {gte: 3}", "  condition: {gte: 3}\n  generate: true"))
    got = [(a.record_index, a.rule) for a in rs.scan(b"".join(STREAM))]
    assert got == [(0, "RDS Snapshot Deleted"), (1, "RDS Snapshot Deleted"), (2, "RDS Snapshot Deleted"),
                   (3, "RDS Snapshot Deleted"), (3, "RDS Snapshot Mass Deletion")]


# A Falco rule and a Sigma rule, in the order named, by one principal.
SHARED_THEN_DELETED = """\
- rule: Snapshot Shared
  desc: a snapshot's restore attribute changed
  condition: ct.name = ModifyDBSnapshotAttribute
  output: shared by %ct.user.arn
  priority: NOTICE
  source: aws_cloudtrail
---
""" + BASE + """\
---
title: Snapshot Shared Then Deleted
correlation:
  type: temporal_ordered
  rules: [Snapshot Shared, RDS Snapshot Deleted]
  group-by: [userIdentity.arn]
  timespan: 1h
level: high
"""


def test_a_correlation_may_name_falco_rules() -> None:
    rs = ctrule.loads(SHARED_THEN_DELETED, name="ordered.yml")
    shared = record("s-1", "2024-05-01T10:00:00Z", name="ModifyDBSnapshotAttribute")
    deleted = record("d-1", "2024-05-01T10:30:00Z")
    [a] = rs.scan(shared + deleted)
    assert (a.rule, a.priority, a.record_index) == ("Snapshot Shared Then Deleted", Priority.ERROR, 1)
    assert a.fields["correlation.events"] == ("s-1@2024-05-01T10:00:00Z (Snapshot Shared), "
                                              "d-1@2024-05-01T10:30:00Z (RDS Snapshot Deleted)")
    # the other order, or another principal: no alert
    early = record("d-0", "2024-05-01T09:59:00Z")
    assert list(rs.scan(early + shared)) == []
    assert list(rs.scan(shared + record("d-2", "2024-05-01T10:30:00Z", BOB))) == []


def test_files_scanned_by_one_scanner_correlate(tmp_path: Path) -> None:
    """The groups live in the scanner: with one thread, scan_files' inputs
    correlate with one another; the alert is in the result of the input that
    completed it."""
    rs = ctrule.loads(MASS_DELETION)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_bytes(b"".join(STREAM[:2]))
    second.write_bytes(b"".join(STREAM[2:]))
    results = list(ctrule.scan_files(rs, [first, second], threads=1))
    assert [len(r.alerts) for r in results] == [0, 1]
    a = results[1].alerts[0]
    assert a.rule == "RDS Snapshot Mass Deletion" and a.fields["correlation.events"] == EVENTS
    assert a.record_index == 1  # in its own input


def test_the_events_limit_is_reported_on_the_record() -> None:
    rs = ctrule.loads(MASS_DELETION)
    errors: list[ctrule.RecordError] = []
    with rs.scanner(on_error=errors.append, limits={"correlation_events": 2}) as sc:
        assert sc.scan(b"".join(STREAM))
        # reported on the records, counted in no statistic: they are complete
        assert sc.stats.matches == 0 and sc.stats.incomplete == 0
    assert [(e.status_name, e.index, e.offset, e.evaluated) for e in errors] == [
        ("ELIMIT", 2, sum(map(len, STREAM[:2])), True), ("ELIMIT", 3, sum(map(len, STREAM[:3])), True)]
    assert "not counted" in errors[0].message and "correlation_events" in errors[0].message
    assert ctrule.limit_defaults()["correlation_events"] == 100000


@pytest.mark.parametrize("change, line, column, code, words", [
    (("condition: {gte: 3}", "condition: {lt: 1}"), 20, 15, "LOAD_ERR_SIGMA", "'lt 1' can never hold"),
    (("rules: RDS Snapshot Deleted", "rules: Nope"), 17, 10, "LOAD_ERR_SIGMA", "'Nope'"),
], ids=["condition never met", "unknown rule"])
def test_a_bad_correlation_is_a_rules_error_at_its_position(change: tuple[str, str], line: int, column: int,
                                                            code: str, words: str) -> None:
    with pytest.raises(ctrule.RulesError) as ei:
        ctrule.loads(MASS_DELETION.replace(*change), name="mass.yml")
    e: Any = ei.value
    assert (e.file, e.line, e.column, e.code) == ("mass.yml", line, column, code), str(e)
    assert words in e.message and str(e).startswith(f"mass.yml:{line}:{column}: error: ")
