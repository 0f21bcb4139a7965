"""scan_files correlates every input in input order whatever the threads
(issue 21), as ``ctrule scan -j N`` does: the threads' scanners run with
``no_correlation`` and one ``only_correlation`` scanner is fed each input's
matched records in input order. Also the two Scanner options themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ctrule

from conftest import REPO

FIXTURES = REPO / "libctrule" / "rules" / "correlation_tests"
SEQUENCE = "RDS Snapshot Exfiltration Sequence"
HEAD = len(b'{"Records":[')  # a log file's first record starts here

DELETED = ("title: Snapshot Deleted\nname: snapshot_deleted\nlogsource: {product: aws, service: cloudtrail}\n"
           "detection:\n  sel: {eventName: DeleteDBSnapshot}\n  condition: sel\nlevel: low\n")
MASS = ("title: Many Snapshot Deletions\ncorrelation:\n  type: event_count\n  rules: snapshot_deleted\n"
        "  group-by: [userIdentity.arn]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n")


def deletion(i: int, hms: str, who: str) -> bytes:
    return json.dumps({"eventVersion": "1.08", "eventTime": f"2025-01-01T{hms}Z", "eventName": "DeleteDBSnapshot",
                       "eventSource": "rds.amazonaws.com", "awsRegion": "us-east-1", "eventID": f"id-{i}",
                       "eventType": "AwsApiCall", "requestParameters": {"dBSnapshotIdentifier": f"s{i}"},
                       "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::1:user/{who}",
                                        "accountId": "1"}}).encode() + b"\n"


def sequence_records() -> list[bytes]:
    return (FIXTURES / "rds_snapshot_exfiltration_sequence.ndjson").read_bytes().splitlines()


def outcome(results: list[ctrule.FileResult]) -> list[Any]:
    """Everything a result says, comparable across runs."""
    return [(str(r.source), [(a.rule, a.record_index, a.byte_offset, a.silenced, a.to_json()) for a in r.alerts],
             r.stats, [(e.status, e.index, e.offset, e.text) for e in r.errors], repr(r.error))
            for r in results]


def scan_both(ruleset: ctrule.Ruleset, sources: list[Any], **options: Any) -> list[ctrule.FileResult]:
    """threads=1 and threads=2 give the same results; threads=1's."""
    one = list(ctrule.scan_files(ruleset, sources, threads=1, **options))
    two = list(ctrule.scan_files(ruleset, sources, threads=2, **options))
    assert outcome(two) == outcome(one)
    assert [r.source for r in one] == list(sources)  # per-input results, in input order
    return one


@pytest.fixture(scope="module")
def builtin() -> ctrule.Ruleset:
    return ctrule.builtin()


def test_the_exfiltration_sequence_over_three_files(tmp_path: Path, builtin: ctrule.Ruleset) -> None:
    rec = sequence_records()
    files = [tmp_path / "1_create.json", tmp_path / "2_share.json", tmp_path / "3_delete.json"]
    files[0].write_bytes(rec[0] + b"\n")
    files[1].write_bytes(rec[1] + b"\n")
    files[2].write_bytes(b'{"Records":[' + rec[2] + b"]}")  # a CloudTrail log file
    results = scan_both(builtin, files)
    assert [[a.rule for a in r.alerts] for r in results] == [
        ["RDS Manual Snapshot Created"], ["RDS Snapshot Shared With Foreign Account"],
        ["RDS Snapshot Deleted", SEQUENCE]]  # after the completing input's own alert (generate: true)
    corr = results[2].alerts[1]
    assert (corr.record_index, corr.byte_offset) == (0, HEAD)  # the completing record, in its input
    assert corr.fields["requestParameters.dBSnapshotIdentifier"] == "exfil-1"
    assert results[2].stats.matches == 2 and not results[2].errors
    # what one scanner finds over the inputs' records in order
    found: list[str] = []
    with ctrule.Scanner(builtin, lambda a: found.append(a.rule)) as sc:
        assert sc.scan(b"\n".join(rec[:3]) + b"\n")
    assert found == [a.rule for r in results for a in r.alerts]


@pytest.mark.parametrize("as_paths", [False, True])
def test_the_sequence_among_many_inputs_whatever_thread_takes_them(tmp_path: Path, builtin: ctrule.Ruleset,
                                                                 as_paths: bool) -> None:
    # 60 inputs: the three steps far apart among inputs without a match, a
    # bad one and an unreadable one, so that both threads take steps
    rec = sequence_records()
    quiet = b'{"eventVersion":"1.08","eventTime":"2024-05-01T09:00:00Z","eventName":"DescribeDBInstances",' \
            b'"eventSource":"rds.amazonaws.com","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser"}}\n'
    sources: list[Any] = [quiet] * 60
    sources[5], sources[29], sources[51] = rec[0] + b"\n", rec[1] + b"\n", quiet + rec[2] + b"\n"
    sources[30] = b"{not json\n" + quiet
    sources[31] = tmp_path / "missing.json"
    if as_paths:  # scanned on C threads (ctrpy_pool), with a directory among them
        for i, src in enumerate(sources):
            if isinstance(src, bytes):
                sources[i] = tmp_path / f"{i:02d}.json"
                sources[i].write_bytes(src)
        sources[40] = tmp_path
    results = scan_both(builtin, sources)
    fired = [(i, a.record_index) for i, r in enumerate(results) for a in r.alerts if a.rule == SEQUENCE]
    assert fired == [(51, 1)]
    assert results[30].errors and isinstance(results[31].error, OSError)
    if as_paths:
        assert isinstance(results[40].error, IsADirectoryError)


def test_the_near_misses_one_per_file_stay_quiet(builtin: ctrule.Ruleset) -> None:
    near = [r + b"\n" for r in sequence_records()[3:]]
    results = scan_both(builtin, near)
    alerts = [a for r in results for a in r.alerts]
    assert alerts and not [a for a in alerts if "sigma.correlation" in a.tags]


def test_generate_false_base_alerts_stay_silent() -> None:
    rs = ctrule.loads(DELETED + "---\n" + MASS)
    sources = [deletion(i, hms, who) for i, (hms, who) in
               enumerate((("10:00:00", "m"), ("10:01:00", "z"), ("10:02:00", "m"), ("10:04:59", "m")))]
    results = scan_both(rs, sources)
    assert [[a.rule for a in r.alerts] for r in results] == [[], [], [], ["Many Snapshot Deletions"]]
    assert [r.stats.matches for r in results] == [0, 0, 0, 1]  # a silenced match is no alert
    assert not any(a.silenced for r in results for a in r.alerts)
    assert results[3].alerts[0].fields["correlation.events"].count("id-") == 3


def test_a_correlation_is_on_the_record_that_completed_it() -> None:
    """Completed by an input's third noted record of four: placed there, as a
    scanner of the input alone (and the CLI) places it, not on the input's
    last noted record (where they all were until the placement moved to the
    moment an alert comes)."""
    rs = ctrule.loads(DELETED + "---\n" + MASS)
    data = b"".join(deletion(i, f"00:00:{10 * i:02d}", "a") for i in range(4))
    alone = [(a.rule, a.record_index, a.byte_offset) for a in rs.scan(data)]
    [res] = scan_both(rs, [data])
    assert [(a.rule, a.record_index, a.byte_offset) for a in res.alerts] == alone
    assert alone == [("Many Snapshot Deletions", 2, 2 * len(deletion(0, "00:00:00", "a")))]


def test_a_correlation_report_is_on_the_inputs_record() -> None:
    rs = ctrule.loads(DELETED + "---\n" + MASS)
    sources = [deletion(0, "10:00:00", "m"), deletion(1, "10:00:01", "z") * 2]
    results = scan_both(rs, sources, limits={"correlation_events": 1})
    assert results[0].errors == []
    errs = results[1].errors
    assert [(e.status_name, e.index, e.offset, e.evaluated) for e in errs] == [
        ("ELIMIT", 0, 0, True), ("ELIMIT", 1, len(sources[1]) // 2, True)]
    assert errs[1].text.startswith(f"record 1 at byte {len(sources[1]) // 2}: correlation 'Many Snapshot Deletions'")
    assert results[1].stats.incomplete == 0  # complete records: the reports are about the correlation


def test_a_result_waits_only_for_the_next_input_with_a_match(builtin: ctrule.Ruleset) -> None:
    # the result of an input with a match is yielded once a later input with
    # a match was correlated (the stream's end may still decide on its last
    # record); leaving the loop early is clean
    rec = sequence_records()
    taken: list[int] = []

    def sources() -> Any:
        for i, data in enumerate([rec[0], b"", rec[1], rec[2]]):
            taken.append(i)
            yield data + b"\n"

    gen = ctrule.scan_files(builtin, sources(), threads=1)
    first = next(gen)
    assert [a.rule for a in first.alerts] == ["RDS Manual Snapshot Created"] and taken[-1] >= 2
    gen.close()


def test_the_scanner_halves() -> None:
    rs = ctrule.loads(DELETED + "---\n" + MASS)
    data = b"".join(deletion(i, f"10:0{i}:00", "m") for i in range(3))
    forwarded: list[ctrule.Alert] = []
    with rs.scanner(forwarded.append, no_correlation=True) as sc:
        assert sc.scan(data)
    assert [(a.rule, a.silenced) for a in forwarded] == [("Snapshot Deleted", True)] * 3
    found: list[ctrule.Alert] = []
    with rs.scanner(found.append, only_correlation=True) as sc:
        for a in forwarded:
            assert sc.feed(a.raw + b"\n")
        assert sc.finish()
        assert sc.stats.matches == 1
    assert [(a.rule, a.silenced, a.record_index) for a in found] == [("Many Snapshot Deletions", False, 2)]
    # a plain scanner's matches are never silenced (and silenced survives a pickle)
    plain = list(ctrule.loads(DELETED).scan(data))
    assert plain and not any(a.silenced for a in plain)
    import pickle
    assert pickle.loads(pickle.dumps(forwarded[0])).silenced is True
    with pytest.raises(ValueError, match="one of them"):
        rs.scanner(no_correlation=True, only_correlation=True)
    for k in ("no_correlation", "only_correlation"):
        with pytest.raises(TypeError, match=k):
            list(ctrule.scan_files(rs, [data], **{k: True}))


def test_what_the_end_decides_is_in_the_last_matching_inputs_result() -> None:
    # an upper bound is decided when its window closes: here at the end of
    # the one stream, on the last record with a match, whose input's result
    # waits for it (the inputs after it without a match too)
    few = MASS.replace("Many Snapshot Deletions", "Few Snapshot Deletions").replace("{gte: 3}", "{lte: 2}")
    rs = ctrule.loads(DELETED + "---\n" + few)
    quiet = deletion(9, "10:00:30", "z").replace(b"DeleteDBSnapshot", b"DescribeDBSnapshots")
    sources = [deletion(0, "10:00:00", "m"), quiet, b"x\n" + deletion(1, "10:01:00", "m"), quiet]
    results = scan_both(rs, sources)
    assert [[(a.rule, a.record_index, a.byte_offset) for a in r.alerts] for r in results] == [
        [], [], [("Few Snapshot Deletions", 1, 2)], []]
    assert results[2].stats.matches == 1
