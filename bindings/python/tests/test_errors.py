"""Bad events (record index and byte offset), strict mode, corrupt streams,
and callbacks that raise, stop or re-enter."""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path
from typing import Any

import pytest

import ctrule
from ctrule import Alert, BadRecordError, CtruleError, RecordError, StopScan, StreamError

from conftest import Record, keys

BAD = b'{"eventName": "CreateAccessKey", oops}'
INCOMPLETE = b'{"eventName":"CreateAccessKey","awsRegion":"us-east-1"}'


def access_key_lines(records: list[Record], n: int) -> list[bytes]:
    out = [r.raw for r in records if r.doc["eventName"] == "CreateAccessKey"
           and "errorCode" not in r.doc][:n]
    assert len(out) == n
    return out


def with_bad_record(records: list[Record]) -> tuple[bytes, int, int]:
    """Five matching records, a bad one, five more: (data, bad index, bad offset)."""
    lines = access_key_lines(records, 10)
    lines.insert(5, BAD)
    data = b"\n".join(lines) + b"\n"
    return data, 5, sum(len(x) + 1 for x in lines[:5])


def test_bad_record_reported_and_skipped(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    data, index, offset = with_bad_record(records)
    seen: list[RecordError] = []
    alerts: list[Alert] = []
    sc = ctrule.Scanner(ruleset, alerts.append, on_error=seen.append)
    assert sc.scan(data)
    assert len(sc.errors) == 1 and seen == sc.errors
    err = sc.errors[0]
    assert (err.index, err.offset, err.evaluated) == (index, offset, False)
    assert err.status == ctrule.Status.EDATA and err.status_name == "EDATA"
    assert err.message and err.text.startswith(f"record {index} at byte {offset}:")
    assert str(err) == err.text and sc.last_error == err.text
    assert sc.stats.bad_records == 1 and sc.stats.records == 11
    # every good record still alerted (two rules match CreateAccessKey)
    assert sorted({a.record_index for a in alerts}) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert len(alerts) == 20


def test_strict_mode_raises_on_bad_record(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    data, index, offset = with_bad_record(records)
    alerts: list[Alert] = []
    sc = ctrule.Scanner(ruleset, alerts.append, strict=True)
    with pytest.raises(BadRecordError) as ei:
        sc.feed(data)
    e = ei.value
    assert (e.index, e.offset) == (index, offset)
    assert e.error is sc.errors[0] and e.status == ctrule.Status.EDATA
    assert f"record {index} at byte {offset}" in str(e)
    assert isinstance(e, CtruleError)
    # nothing after the bad record was delivered, everything before was
    assert sorted({a.record_index for a in alerts}) == [0, 1, 2, 3, 4]
    assert sc.stopped and sc.feed(data) is False and sc.finish() is False
    sc.reset()
    alerts.clear()
    assert sc.feed(b"\n".join(access_key_lines(records, 2))) and sc.finish()
    assert len(alerts) == 4


def test_strict_iterator_yields_alerts_before_raising(ruleset: ctrule.Ruleset,
                                                     records: list[Record]) -> None:
    data, index, offset = with_bad_record(records)
    got: list[int] = []
    scan = ruleset.scan(data, strict=True)
    with pytest.raises(BadRecordError) as ei:
        for a in scan:
            got.append(a.record_index)
    assert sorted(set(got)) == [0, 1, 2, 3, 4] and len(got) == 10
    assert (ei.value.index, ei.value.offset) == (index, offset)
    assert scan.stopped


def test_incomplete_record_is_evaluated_not_fatal(ruleset: ctrule.Ruleset,
                                                  records: list[Record]) -> None:
    data = access_key_lines(records, 1)[0] + b"\n" + INCOMPLETE + b"\n"
    scan = ruleset.scan(data, strict=True)
    alerts = list(scan)
    assert scan.stats.incomplete == 1 and scan.stats.bad_records == 0
    err = scan.errors[0]
    assert err.evaluated and err.index == 1 and err.offset == data.index(INCOMPLETE)
    assert [a.record_index for a in alerts if a.rule == "Access Key Created"] == [0, 1]


def test_partial_records_file(ruleset: ctrule.Ruleset, partial_path: Path) -> None:
    # 154 valid JSON objects that fail the "complete record" test (SOURCES.md):
    # reported, still evaluated, never fatal, not even in strict mode
    scan = ruleset.scan(partial_path, strict=True)
    alerts = list(scan)
    st = scan.stats
    assert st.incomplete == 154 == len(scan.errors) and st.bad_records == 0
    assert all(e.evaluated for e in scan.errors)
    assert all(e.text.startswith(f"record {e.index} at byte {e.offset}") for e in scan.errors)
    offsets = [e.offset for e in scan.errors]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert alerts and not scan.stopped


def test_max_errors_bound(ruleset: ctrule.Ruleset) -> None:
    data = b"\n".join([BAD] * 50)
    sc = ruleset.scanner(max_errors=10)
    with pytest.raises(ctrule.NoRecordsError):  # nothing but bad records
        sc.scan(data)
    assert len(sc.errors) == 10 and sc.stats.bad_records == 50
    assert [e.index for e in sc.errors] == list(range(10))


def test_corrupt_gzip_raises_stream_error(ruleset: ctrule.Ruleset, gz_path: Path) -> None:
    gz = bytearray(gz_path.read_bytes())
    gz[5000:5200] = bytes(200)  # inside the deflate stream
    with pytest.raises(StreamError) as ei:
        list(ruleset.scan(bytes(gz)))
    assert ei.value.status == ctrule.Status.EDATA and str(ei.value)


def test_truncated_gzip_raises_stream_error(ruleset: ctrule.Ruleset, gz_path: Path) -> None:
    gz = gz_path.read_bytes()
    half = gz[: len(gz) // 2]
    scan = ruleset.scan(half)
    got = []
    with pytest.raises(StreamError) as ei:
        for a in scan:
            got.append(a)
    assert got and scan.stats.records > 100  # what was readable was scanned
    assert ei.value.offset == len(half) and "truncated" in str(ei.value)
    assert scan.errors[-1].text.startswith(f"input at byte {len(half)}")


# ------------------------------------------------------------- callbacks


class Boom(Exception):
    pass


def test_callback_exception_propagates_unchanged(ruleset: ctrule.Ruleset,
                                                 ndjson_bytes: bytes) -> None:
    boom = Boom("from the callback")
    calls = 0

    def cb(alert: Alert) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise boom

    sc = ruleset.scanner(cb)
    with pytest.raises(Boom) as ei:
        sc.feed(ndjson_bytes)
    assert ei.value is boom
    assert ei.traceback[-1].name == "cb"  # raised where the callback raised it
    assert calls == 3 and sc.stopped
    assert sc.feed(ndjson_bytes) is False and calls == 3
    # the scan() helper and finish() propagate it too
    calls = 0
    with pytest.raises(Boom):
        sc.scan(ndjson_bytes)


def test_callback_base_exception_propagates(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    class Abort(BaseException):
        pass

    def cb(alert: Alert) -> None:
        raise Abort()

    with pytest.raises(Abort):
        ruleset.scanner(cb).scan(ndjson_bytes)


def test_exception_in_feed_or_finish(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    # the last record has no newline: the scanner may deliver it at feed (its
    # closing brace) or only at finish; the exception propagates either way
    data = access_key_lines(records, 1)[0]
    calls = 0

    def cb(alert: Alert) -> None:
        nonlocal calls
        calls += 1
        raise Boom()

    sc = ruleset.scanner(cb)
    with pytest.raises(Boom):
        sc.feed(data)
        sc.finish()
    assert calls == 1 and sc.stopped


class MyStop(StopScan):
    pass


@pytest.mark.parametrize("how", ["true", "truthy", "stopscan", "stopscan-subclass"])
def test_callback_stops_cleanly(how: str, ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                expected: list[tuple[int, str]]) -> None:
    got: list[Alert] = []

    def cb(alert: Alert) -> Any:
        got.append(alert)
        if len(got) % 4 == 0:
            if how.startswith("stopscan"):
                raise MyStop() if how == "stopscan-subclass" else StopScan()
            return True if how == "true" else "yes"
        return False if len(got) % 2 else None

    sc = ruleset.scanner(cb)
    assert sc.feed(ndjson_bytes) is False
    assert sc.stopped and len(got) == 4 and sc.stats.matches == 4
    assert sc.finish() is False and sc.feed(ndjson_bytes) is False and len(got) == 4
    assert sc.scan(ndjson_bytes) is False and len(got) == 8  # scan() starts a new stream
    got.clear()
    sc2 = ruleset.scanner(lambda a: got.append(a))
    assert sc2.scan(ndjson_bytes) is True and len(got) == len(expected)


def test_error_callback_exception_stops_scan(ruleset: ctrule.Ruleset,
                                             records: list[Record]) -> None:
    data, index, _ = with_bad_record(records)
    boom = Boom()
    alerts: list[Alert] = []

    def on_error(err: RecordError) -> None:
        raise boom

    sc = ruleset.scanner(alerts.append, on_error=on_error)
    with pytest.raises(Boom) as ei:
        sc.feed(data)
    assert ei.value is boom
    assert {a.record_index for a in alerts} == {0, 1, 2, 3, 4}
    assert sc.errors[0].index == index


def test_feeding_from_own_callback_is_busy(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    sc: ctrule.Scanner

    def cb(alert: Alert) -> None:
        sc.feed(b"{}")

    sc = ruleset.scanner(cb)
    with pytest.raises(CtruleError) as ei:
        sc.feed(ndjson_bytes)
    assert ei.value.status == ctrule.Status.EBUSY


def test_callback_bool_error_propagates(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    class Weird:
        def __bool__(self) -> bool:
            raise Boom("bool")

    with pytest.raises(Boom, match="bool"):
        ruleset.scanner(lambda a: Weird()).feed(ndjson_bytes)


def test_break_out_of_iterator_stops(ruleset: ctrule.Ruleset, ndjson_path: Path) -> None:
    scan = ruleset.scan(ndjson_path, chunk_size=4096)
    for alert in scan:
        break
    scan.close()
    assert 0 < scan.stats.records < 1163
    with pytest.raises(StopIteration):
        next(scan)
    with ruleset.scan(ndjson_path) as scan2:
        first = next(scan2)
    assert first.rule


def test_gz_file_with_bad_member_after_good_data(ruleset: ctrule.Ruleset,
                                                 records: list[Record]) -> None:
    good = gzip.compress(b"\n".join(access_key_lines(records, 3)) + b"\n")
    scan = ruleset.scan(good + b"\x1f\x8b\x08\x00garbage-not-deflate")
    got: list[Alert] = []
    with pytest.raises(StreamError):
        for a in scan:
            got.append(a)
    assert {a.record_index for a in got} == {0, 1, 2}


# ------------------------------------------------------------------ wrong or empty input (docs/bad-input.md)

GOOD = (b'{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"u"},'
        b'"eventTime":"2025-03-01T10:02:11Z","eventSource":"iam.amazonaws.com",'
        b'"eventName":"CreateAccessKey","awsRegion":"us-east-1"}')


@pytest.mark.parametrize("data", [b"", b"  \n", b"[]", b'{"Records":[]}', gzip.compress(b"")])
def test_empty_input_warns(ruleset: ctrule.Ruleset, data: bytes) -> None:
    with pytest.warns(ctrule.EmptyInputWarning, match="empty input: no record in it"):
        assert list(ruleset.scan(data)) == []
    with ruleset.scanner() as sc, pytest.warns(ctrule.EmptyInputWarning):
        sc.feed(data)
        sc.finish()


@pytest.mark.parametrize("data,bad,incomplete", [
    (b"this is not json\n", 1, 0),
    (b'{"hello":"world"}', 0, 1),
    (b'{"Records":[{"a":1},{"b":2}]}', 0, 2),
    (b'{"a":1}\nnot json\n', 1, 1),
])
def test_input_without_a_cloudtrail_record_raises(ruleset: ctrule.Ruleset, data: bytes, bad: int,
                                                  incomplete: int) -> None:
    for given in (data, gzip.compress(data)):
        with pytest.raises(ctrule.NoRecordsError) as ei:
            list(ruleset.scan(given))
        e = ei.value
        assert isinstance(e, CtruleError) and e.status == ctrule.Status.EDATA
        assert (e.records, e.bad, e.incomplete) == (bad + incomplete, bad, incomplete)
        assert "no CloudTrail record in this input" in str(e)


def test_one_cloudtrail_record_among_wrong_values_is_fine(ruleset: ctrule.Ruleset) -> None:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alerts = list(ruleset.scan(b'{"a":1}\nnot json\n' + GOOD + b"\n"))
    assert [a.rule for a in alerts] == ["Access Key Created", "IAM Write"]


def _deletion(**changes: Any) -> dict[str, Any]:
    """A DeleteDBInstance record the built-in RDS Mass Deletion correlation
    counts, with changes (None: the key removed)."""
    r: dict[str, Any] = {
        "eventVersion": "1.10", "eventTime": "2025-06-03T09:00:00Z", "awsRegion": "us-east-1",
        "eventSource": "rds.amazonaws.com", "eventName": "DeleteDBInstance", "eventType": "AwsApiCall",
        "eventID": "e1", "sourceIPAddress": "203.0.113.77",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                         "accountId": "111122223333"},
        "requestParameters": {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": False}}
    for k, v in changes.items():
        if v is None:
            del r[k]
        else:
            r[k] = v
    return r


def test_a_record_reported_twice_counts_once(tmp_path: Path) -> None:
    # Without awsRegion (incomplete) and without a valid eventTime (its match
    # not counted by the correlation): two reports, one record. Beside a good
    # record the input holds a CloudTrail record: no NoRecordsError, in
    # every way of scanning it.
    import json
    odd = _deletion(awsRegion=None, eventTime="bogus")
    good = _deletion(eventName="DescribeDBInstances", eventID="e2")
    data = (json.dumps(odd) + "\n" + json.dumps(good) + "\n").encode()
    path = tmp_path / "two.json"
    path.write_bytes(data)
    rds = ctrule.builtin("rds")
    errors: list[RecordError] = []
    alerts = list(rds.scan(data, on_error=errors.append))
    assert [a.rule for a in alerts] == ["RDS Instance Deleted"]
    assert sorted(e.message.split(":")[0] for e in errors) == [
        "correlation 'RDS Mass Deletion'", "incomplete CloudTrail record"]
    with rds.scanner() as sc:
        assert sc.scan(path)
        assert sc.stats.incomplete == 1
    for threads in (1, 2):
        (res,) = ctrule.scan_files(rds, [path], threads=threads)
        assert res.error is None and len(res.alerts) == 1 and res.stats.incomplete == 1
    # the same odd record alone still holds no CloudTrail record
    with pytest.raises(ctrule.NoRecordsError) as ei:
        list(rds.scan((json.dumps(odd) + "\n").encode()))
    assert (ei.value.records, ei.value.incomplete) == (1, 1)


def test_policy_is_per_stream(ruleset: ctrule.Ruleset) -> None:
    # A good stream, then a wrong one, then a good one on the same scanner.
    with ruleset.scanner() as sc:
        sc.scan(GOOD)
        with pytest.raises(ctrule.NoRecordsError):
            sc.scan(b'{"hello":"world"}')
        sc.scan(GOOD)
        with pytest.warns(ctrule.EmptyInputWarning):
            sc.scan(b"")


# ------------------------------------------------------------- a path, scanned in one call

def _outcome(ruleset: ctrule.Ruleset, source: Any, chunk_size: int, *, stop_at: int = 0,
             raise_at: int = 0, raise_on_error: bool = False, strict: bool = False) -> tuple[Any, ...]:
    """Everything a scan shows: what it raised or returned, the alerts, the
    record errors, the stats, whether it stopped."""
    import warnings
    alerts: list[Alert] = []

    def on_match(a: Alert) -> bool:
        alerts.append(a)
        if len(alerts) == raise_at:
            raise Boom("match")
        return len(alerts) == stop_at

    def on_error(e: RecordError) -> None:
        if raise_on_error:
            raise Boom("error")

    with ruleset.scanner(on_match, on_error=on_error, strict=strict) as sc, \
            warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            out: Any = sc.scan(source, chunk_size=chunk_size)
        except Exception as exc:  # compared by type and text
            out = (type(exc).__name__, str(exc))
        return (out, [(a.record_index, a.rule) for a in alerts], [e.text for e in sc.errors],
                sc.stats, sc.stopped, [str(w.message) for w in warned])


def test_a_path_is_scanned_as_its_bytes_are(ruleset: ctrule.Ruleset, records: list[Record],
                                            gz_path: Path, tmp_path: Path) -> None:
    """A path is read and scanned by the library in one call (the GIL is
    released once per input): every outcome is that of scanning its bytes,
    whatever the chunk size: callbacks that raise or stop, bad records,
    strict mode, corrupt and truncated gzip, empty and non-CloudTrail input."""
    data, _, _ = with_bad_record(records)
    gz = gz_path.read_bytes()
    corrupt = bytearray(gz)
    corrupt[5000:5200] = bytes(200)
    cases: dict[str, tuple[bytes, dict[str, Any]]] = {
        "plain": (data, {}), "stop": (data, {"stop_at": 7}), "raise": (data, {"raise_at": 3}),
        "error raises": (data, {"raise_on_error": True}), "strict": (data, {"strict": True}),
        "gzip": (gz, {}), "gzip stop": (gz, {"stop_at": 40}), "corrupt gzip": (bytes(corrupt), {}),
        "truncated gzip": (gz[: len(gz) // 2], {}), "empty": (b"", {}),
        "no CloudTrail": (b'{"hello":"world"}\n', {}),
    }
    for name, (content, kw) in cases.items():
        path = tmp_path / f"{name}.in"
        path.write_bytes(content)
        for chunk_size in (1 << 20, 997):
            want = _outcome(ruleset, content, chunk_size, **kw)
            assert _outcome(ruleset, path, chunk_size, **kw) == want, (name, chunk_size)
            assert _outcome(ruleset, str(path), chunk_size, **kw) == want, (name, chunk_size)
    assert _outcome(ruleset, data, 997, raise_on_error=True)[0] == ("Boom", "error")
    assert _outcome(ruleset, data, 997, raise_at=3)[0] == ("Boom", "match")


def test_a_path_that_cannot_be_read(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                    expected: list[tuple[int, str]], tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as ei:
        ruleset.scanner().scan(missing)
    assert ei.value.filename == missing and ei.value.errno == errno.ENOENT
    with pytest.raises(IsADirectoryError):
        ruleset.scanner().scan(tmp_path)
    with pytest.raises(ValueError):
        ruleset.scanner().scan(str(tmp_path / "nul\0byte"))
    # A name that is not UTF-8 is a name all the same.
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.json")
    Path(odd).write_bytes(ndjson_bytes)
    assert keys(list(ruleset.scan(odd))) == expected
