#!/usr/bin/env python3
"""Writes the fixtures of the RDS correlations (../aws_rds_correlations.yaml).

    python3 libctrule/rules/correlation_tests/make_fixtures.py [--check]
    ctrule test          # with the rules' fixtures (the correlations are built in)

Each fixture is one stream of records in event-time order, scanned by one
scanner: the sequence that must fire, then its near-misses (another principal
or resource, outside the timespan, the wrong order, a failed call). Records
are written with ../tests/make_fixtures.py's helpers, in the shape CloudTrail
gives RDS calls. --check compares instead of writing.
"""
import os
import sys
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
import make_fixtures as mf  # noqa: E402  (the built-in rules' fixture helpers)

ALICE, MALLORY, FOREIGN = mf.ALICE, mf.MALLORY, mf.FOREIGN


def at(hms, day=10):
    """The next record's eventTime: 2025-07-<day>T<hms>Z (mf.record ticks once)."""
    h, m, s = (int(x) for x in hms.split(":"))
    mf._clock[0] = datetime(2025, 7, day, h, m, s, tzinfo=timezone.utc) - timedelta(minutes=7, seconds=13)


def create(snap, who=MALLORY, t="10:00:00", error=None):
    at(t)
    return mf.record("CreateDBSnapshot", {"dBSnapshotIdentifier": snap, "dBInstanceIdentifier": "orders-prod"},
                     mf.db_snapshot(snap, "orders-prod", status="creating", percentProgress=0), who=who, error=error)


def share(snap, who=MALLORY, t="10:10:00", account=FOREIGN):
    at(t)
    return mf.record("ModifyDBSnapshotAttribute",
                     {"dBSnapshotIdentifier": snap, "attributeName": "restore", "valuesToAdd": [account]},
                     mf.snapshot_attrs(snap, [account]), who=who)


def delete(snap, who=MALLORY, t="10:40:00", error=None):
    at(t)
    return mf.record("DeleteDBSnapshot", {"dBSnapshotIdentifier": snap},
                     mf.db_snapshot(snap, "orders-prod", status="deleted"), who=who, error=error)


def delete_instance(ident, who=MALLORY, t="10:00:00"):
    at(t)
    return mf.record("DeleteDBInstance", {"dBInstanceIdentifier": ident, "skipFinalSnapshot": False,
                                          "finalDBSnapshotIdentifier": ident + "-final", "deleteAutomatedBackups": False},
                     mf.db_instance(ident, dBInstanceStatus="deleting", deletionProtection=False), who=who)


def delete_cluster_snapshot(snap, who=MALLORY, t="10:00:00"):
    at(t)
    return mf.record("DeleteDBClusterSnapshot", {"dBClusterSnapshotIdentifier": snap},
                     mf.db_cluster_snapshot(snap, "ledger-aurora", status="deleted"), who=who)


def publicity(ident, public, who=ALICE, t="10:00:00", error=None):
    at(t)
    return mf.record("ModifyDBInstance", {"dBInstanceIdentifier": ident, "publiclyAccessible": public, "applyImmediately": True},
                     mf.db_instance(ident, dBInstanceStatus="modifying", publiclyAccessible=public), who=who, error=error)


A, Q = mf.A, mf.Q

FIXTURES = [
    ("RDS Snapshot Exfiltration Sequence", [
        Q("mallory creates a manual snapshot (step 1)", create("exfil-1", t="10:00:00")),
        Q("mallory shares it with a foreign account (step 2)", share("exfil-1", t="10:10:00")),
        A("mallory deletes it 40 minutes after creating it: the sequence", delete("exfil-1", t="10:40:00")),
        Q("near miss, another principal: mallory creates", create("exfil-2", t="12:00:00")),
        Q("near miss, another principal: alice shares", share("exfil-2", who=ALICE, t="12:05:00")),
        Q("near miss, another principal: mallory deletes", delete("exfil-2", t="12:10:00")),
        Q("near miss, outside the hour: created", create("exfil-3", t="14:00:00")),
        Q("near miss, outside the hour: shared", share("exfil-3", t="14:10:00")),
        Q("near miss, outside the hour: deleted 1 h 1 s after", delete("exfil-3", t="15:00:01")),
        Q("near miss, wrong order: created", create("exfil-4", t="16:00:00")),
        Q("near miss, wrong order: deleted before shared", delete("exfil-4", t="16:05:00")),
        Q("near miss, wrong order: shared last", share("exfil-4", t="16:10:00")),
        Q("near miss, another snapshot: created", create("exfil-5", t="17:00:00")),
        Q("near miss, another snapshot: shared", share("exfil-5", t="17:05:00")),
        Q("near miss, another snapshot: a different one deleted", delete("exfil-6", t="17:10:00")),
        Q("near miss, failed: the deletion was denied", delete("exfil-5", t="17:15:00", error="AccessDenied")),
    ], [(3, "events="), (3, "(RDS Manual Snapshot Created)"), (3, "requestParameters.dBSnapshotIdentifier=exfil-1")]),
    ("RDS Mass Deletion", [
        Q("mallory deletes an instance (1 of 5)", delete_instance("orders-prod", t="10:00:00")),
        Q("mallory deletes a snapshot (2 of 5)", delete("orders-prod-adhoc", t="10:01:00")),
        Q("mallory deletes a cluster snapshot (3 of 5)", delete_cluster_snapshot("ledger-aurora-adhoc", t="10:02:00")),
        Q("alice deletes a snapshot: another principal", delete("alice-old", who=ALICE, t="10:03:00")),
        Q("mallory deletes a snapshot (4 of 5)", delete("orders-prod-weekly", t="10:05:00")),
        A("mallory deletes a snapshot (5 of 5, within 10 minutes)", delete("orders-prod-monthly", t="10:09:59")),
        Q("near miss, spread out: 1 of 5 every 3 minutes", delete("s-1", t="12:00:00")),
        Q("near miss, spread out: 2", delete("s-2", t="12:03:00")),
        Q("near miss, spread out: 3", delete("s-3", t="12:06:00")),
        Q("near miss, spread out: 4", delete("s-4", t="12:09:00")),
        Q("near miss, spread out: 5, 12 minutes after the first (4 in any 10 minutes)", delete("s-5", t="12:12:00")),
        Q("near miss, failed deletions do not count: 1", delete("f-1", t="14:00:00", error="AccessDenied")),
        Q("near miss, failed deletions do not count: 2", delete("f-2", t="14:00:10", error="AccessDenied")),
        Q("near miss, failed deletions do not count: 3", delete("f-3", t="14:00:20", error="AccessDenied")),
        Q("near miss, failed deletions do not count: 4", delete("f-4", t="14:00:30", error="AccessDenied")),
        Q("near miss, failed deletions do not count: 5", delete("f-5", t="14:00:40", error="AccessDenied")),
    ], [(6, "count=5"), (6, "userIdentity.arn=arn:aws:sts::111122223333:assumed-role/DevOpsDeployRole/mallory")]),
    ("RDS Database Public Window", [
        Q("orders-prod made public", publicity("orders-prod", True, t="10:00:00")),
        A("orders-prod made private again 9 minutes later: the window", publicity("orders-prod", False, t="10:09:00")),
        Q("near miss, outside 15 minutes: made public", publicity("billing", True, t="11:00:00")),
        Q("near miss, outside 15 minutes: private 16 minutes later", publicity("billing", False, t="11:16:00")),
        Q("near miss, wrong order: made private", publicity("reports", False, t="12:00:00")),
        Q("near miss, wrong order: then public", publicity("reports", True, t="12:05:00")),
        Q("near miss, another database: public", publicity("analytics", True, t="14:00:00")),
        Q("near miss, another database: a different one private", publicity("staging", False, t="14:05:00")),
        Q("near miss, failed: analytics' making private denied", publicity("analytics", False, t="14:06:00",
                                                                           error="AccessDenied")),
    ], [(2, "requestParameters.dBInstanceIdentifier=orders-prod"), (2, "(RDS Instance Made Public)")]),
    ("RDS Instance Made Private", [
        A("ModifyDBInstance with publiclyAccessible false", publicity("orders-prod", False, t="10:00:00")),
        Q("harmless counterpart: made public", publicity("orders-prod", True, t="11:00:00")),
        Q("failed: AccessDenied", publicity("orders-prod", False, t="12:00:00", error="AccessDenied")),
    ], [(1, "publiclyAccessible")]),
]


def main():
    check = "--check" in sys.argv[1:]
    expected = {}
    for rule, cases, outputs in FIXTURES:
        nd, ex = mf.render(rule, cases, outputs)
        ex = ex.replace("# Fixtures of the built-in rule", "# Fixtures of the RDS correlations' rule", 1)
        ex = ex.replace("(generated by make_fixtures.py", "(generated by correlation_tests/make_fixtures.py", 1)
        expected[mf.slug(rule) + ".ndjson"] = nd
        expected[mf.slug(rule) + ".expect"] = ex
    differ = mf.sync_files(HERE, expected, check)
    if check:
        if differ:
            print("fixtures out of date: " + ", ".join(differ) + " (run correlation_tests/make_fixtures.py)")
            return 1
        print(f"correlation fixtures up to date: {len(FIXTURES)} rules")
        return 0
    print(f"wrote {len(differ)} files; {len(FIXTURES)} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
