"""Scanning: the callback form, the iterator form over every kind of source,
alert contents, stats, flags and chunking."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import mmap
import os
import pickle
import random
import re
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

import ctrule
from ctrule import Alert, Priority

from conftest import Record, expected_matches, keys


def test_scanner_callback(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                          expected: list[tuple[int, str]]) -> None:
    alerts: list[Alert] = []
    with ctrule.Scanner(ruleset, alerts.append) as sc:
        assert sc.feed(ndjson_bytes) is True
        assert sc.finish() is True
        stats = sc.stats
        assert not sc.stopped and sc.errors == [] and sc.last_error == ""
    assert keys(alerts) == expected
    assert stats.bytes == len(ndjson_bytes)
    assert stats.records == 1163 and stats.bad_records == 0 and stats.incomplete == 0
    assert stats.matches == len(expected)
    assert 0 < stats.evaluated < stats.records  # the eventName index prunes
    # alerts come in stream order
    assert [a.record_index for a in alerts] == sorted(a.record_index for a in alerts)
    assert sc.closed and sc.stats == stats  # stats survive close
    with pytest.raises(ValueError, match="closed"):
        sc.feed(b"{}")


def test_alert_contents(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                        records: list[Record]) -> None:
    alerts = [a for a in ruleset.scan(ndjson_bytes) if a.rule == "Access Key Created"]
    assert alerts
    saw_absent = saw_present = 0
    for a in alerts:
        rec = records[a.record_index]
        assert a.raw == rec.raw and a.byte_offset == rec.offset
        assert a.event == rec.doc and a.event is a.event  # parsed once, cached
        assert a.priority is Priority.WARNING and a.tags == ("aws", "iam", "persistence")
        assert a.source == "aws_cloudtrail"
        assert list(a.fields) == ["ct.user", "json.value[/requestParameters/userName]",
                                  "ct.region", "ct.srcip"]
        assert a.fields["ct.region"] == rec.doc["awsRegion"] == a.field("ct.region")
        target = (rec.doc.get("requestParameters") or {}).get("userName")
        assert a.fields["json.value[/requestParameters/userName]"] == target
        if target is None:
            saw_absent += 1
        else:
            saw_present += 1
        rendered = "Access key created (user={} target={} region={} ip={})".format(
            *("<NA>" if v is None else v for v in a.fields.values()))
        assert a.output.strip() == rendered
        with pytest.raises(KeyError):
            a.field("ct.name")
    assert saw_absent and saw_present


def test_alert_time(ruleset: ctrule.Ruleset, ndjson_bytes: bytes, records: list[Record]) -> None:
    checked = 0
    for a in ruleset.scan(ndjson_bytes):
        t = a.event["eventTime"]
        if a.time_ns == 0:
            assert a.time is None
            continue
        assert a.time is not None and a.time.tzinfo is not None
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t):
            expect = dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
            assert a.time == expect, (a.record_index, t)
            assert a.time_ns == int(expect.timestamp()) * 1_000_000_000
            checked += 1
    assert checked > 50


def test_alert_to_dict_pickle_and_equality(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    a = next(iter(ruleset.scan(ndjson_bytes)))
    d = a.to_dict(hostname="h")
    assert d["rule"] == a.rule and d["priority"] == a.priority.label
    assert d["tags"] == sorted(set(a.tags))
    # output_fields: the template's fields typed as Falco types them, plus
    # the output prefix's evt.time and the eventID.
    assert d["output_fields"]["evt.time"] == a.time_ns
    assert d["output_fields"]["ct.id"] == a.event["eventID"]
    for name, value in a.fields.items():
        assert d["output_fields"][name] == value or str(d["output_fields"][name]) == value
    assert d["output"].endswith(": " + a.priority.label + " " + a.output)
    assert d["source"] == "aws_cloudtrail" and d["hostname"] == "h"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", d["time"])
    assert json.loads(a.to_json("h")) == d
    assert json.loads(a.to_json()) == dict(d, hostname=socket.gethostname())
    assert list(json.loads(a.to_json())) == sorted(d), "keys in Falco's (sorted) order"
    with pytest.raises(ValueError):
        ctrule.Alert(a.rule, int(a.priority), a.output, a.tags, a.fields, a.time_ns, a.raw).to_json()
    b = pickle.loads(pickle.dumps(a))
    assert b == a and b is not a and b.priority is a.priority
    assert a != next(iter(ruleset.scan(ndjson_bytes[len(a.raw) + 1:])))
    assert "Alert(rule=" in repr(a)


def chunked(data: bytes, sizes: Iterator[int]) -> Iterator[bytes]:
    i = 0
    while i < len(data):
        n = next(sizes)
        yield data[i:i + n]
        i += n


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "mmap", "str-path",
                                  "pathlib", "file", "bytesio", "chunks", "gz-path",
                                  "gz-file", "gz-bytes", "gz-chunks", "gzipfile"])
def test_scan_iterator_sources(kind: str, ruleset: ctrule.Ruleset, ndjson_path: Path,
                               gz_path: Path, ndjson_bytes: bytes,
                               expected: list[tuple[int, str]]) -> None:
    gz = gz_path.read_bytes()
    rng = random.Random(kind)
    source: Any
    with open(ndjson_path, "rb") as f, open(gz_path, "rb") as fz, \
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        source = {
            "bytes": ndjson_bytes,
            "bytearray": bytearray(ndjson_bytes),
            "memoryview": memoryview(ndjson_bytes),
            "mmap": mm,
            "str-path": str(ndjson_path),
            "pathlib": ndjson_path,
            "file": f,
            "bytesio": io.BytesIO(ndjson_bytes),
            "chunks": chunked(ndjson_bytes, iter(lambda: rng.randint(1, 5000), None)),
            "gz-path": gz_path,
            "gz-file": fz,
            "gz-bytes": gz,
            "gz-chunks": chunked(gz, iter(lambda: rng.randint(1, 3000), None)),
            "gzipfile": gzip.GzipFile(fileobj=io.BytesIO(gz)),  # decompressed by Python
        }[kind]
        scan = ruleset.scan(source, chunk_size=rng.choice([1000, 65536, 1 << 20]))
        alerts = list(scan)
    assert keys(alerts) == expected
    assert scan.stats.records == 1163 and scan.stats.matches == len(expected)
    assert scan.errors == [] and not scan.stopped
    if kind.startswith("gz"):
        # the gzip log file holds the same records in the same order
        assert all(a.event == json.loads(a.raw) for a in alerts)


def test_gz_same_alerts_as_ndjson(ruleset: ctrule.Ruleset, ndjson_path: Path,
                                  gz_path: Path) -> None:
    plain = list(ruleset.scan(ndjson_path))
    packed = list(ruleset.scan(gz_path))
    assert [(a.rule, a.output, a.fields, a.time_ns, a.record_index, a.event) for a in plain] == \
           [(a.rule, a.output, a.fields, a.time_ns, a.record_index, a.event) for a in packed]


def test_every_split_point_small(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    # a few records, split at every byte position in two chunks
    data = b"\n".join(r.raw for r in records[190:196]) + b"\n"
    whole = [(a.rule, a.output) for a in ruleset.scan(data)]
    assert whole
    for cut in range(0, len(data) + 1, 7):
        got = [(a.rule, a.output) for a in ruleset.scan([data[:cut], data[cut:]])]
        assert got == whole, cut


def test_one_byte_chunks(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    data = b"\n".join(r.raw for r in records[140:200])
    expect = [(a.rule, a.record_index) for a in ruleset.scan(data)]
    sc_alerts: list[Alert] = []
    with ruleset.scanner(sc_alerts.append) as sc:
        for i in range(len(data)):
            assert sc.feed(data[i:i + 1])
        assert sc.finish()
    assert [(a.rule, a.record_index) for a in sc_alerts] == expect and expect


def test_count_without_callback(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                expected: list[tuple[int, str]]) -> None:
    stats = ruleset.count(ndjson_bytes)
    assert stats.matches == len(expected) and stats.records == 1163
    assert stats.bytes == len(ndjson_bytes)
    total = stats + stats
    assert total.matches == 2 * stats.matches and total.as_dict()["records"] == 2326
    # Stats + anything else: Python's operator protocol (NotImplemented), so TypeError.
    with pytest.raises(TypeError):
        stats + 1  # type: ignore[operator]


def test_alerts_compare_equal_only_to_alerts(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    first, again = next(iter(ruleset.scan(ndjson_bytes))), next(iter(ruleset.scan(ndjson_bytes)))
    assert first == again and first is not again
    # Another type: NotImplemented from Alert.__eq__, so Python falls back to identity.
    assert first != object() and not (first == first.rule)


def test_first_match_and_no_index(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                  records: list[Record], expected: list[tuple[int, str]]) -> None:
    no_index = list(ruleset.scan(ndjson_bytes, no_index=True))
    assert keys(no_index) == expected
    st = ruleset.count(ndjson_bytes, no_index=True)
    assert st.evaluated == st.records == 1163
    first = list(ruleset.scan(ndjson_bytes, first_match=True))
    per_record = [a.record_index for a in first]
    assert len(per_record) == len(set(per_record)) == len({k[0] for k in expected})
    assert len(first) < len(expected)  # CreateAccessKey records match two rules


def test_scanner_reuse_and_reset(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    data = b"\n".join(r.raw for r in records[190:200]) + b"\n"
    alerts: list[Alert] = []
    sc = ruleset.scanner(alerts.append)
    assert sc.scan(data)
    first = [(a.rule, a.record_index, a.byte_offset) for a in alerts]
    alerts.clear()
    assert sc.scan(io.BytesIO(data))  # a new stream: indexes restart
    assert [(a.rule, a.record_index, a.byte_offset) for a in alerts] == first
    assert sc.stats.records == 20  # stats accumulate
    # a finished stream takes no more data until reset()
    with pytest.raises(ctrule.CtruleError) as ei:
        sc.feed(data)
    assert ei.value.status == ctrule.Status.ESTATE and "reset()" in str(ei.value)
    assert not sc.stopped
    # abandon a stream half-way with reset()
    sc.reset()
    alerts.clear()
    sc.feed(data[: len(data) // 2 + 3])
    sc.reset()
    sc.feed(data)
    sc.finish()
    assert [(a.rule, a.record_index) for a in alerts][-len(first):] == [f[:2] for f in first]
    sc.close()
    sc.close()  # idempotent


def test_selection_changes_alerts(rules_path: Path, ndjson_bytes: bytes,
                                  records: list[Record]) -> None:
    rs = ctrule.load(rules_path, builtins=(), tags=["iam"], min_priority="error")
    assert keys(list(rs.scan(ndjson_bytes))) == expected_matches(records, ["IAM Write"])


def test_builtin_rds_scan(records: list[Record]) -> None:
    # the built-in rules run on the real data without errors
    rs = ctrule.builtin("rds")
    data = b"\n".join(r.raw for r in records)
    scan = rs.scan(data)
    alerts = list(scan)
    assert scan.stats.records == len(records)
    # the one report: a real deletion whose every value is a placeholder
    # ("eventTime": "..."), which the built-in RDS Mass Deletion correlation
    # cannot place in time
    alerted = {a.record_index for a in alerts}
    placeholder = [i for i, r in enumerate(records) if r.doc.get("eventTime") == "..." and i in alerted]
    assert placeholder and [(e.index, e.evaluated, e.message) for e in scan.errors] == [
        (i, True, f"correlation 'RDS Mass Deletion': the match of '{a.rule}' is not counted: the record has no valid "
                  "eventTime") for i in placeholder for a in alerts if a.record_index == i]
    assert alerts  # the data holds real risky RDS changes (Stratus, Cribl)
    names = {r.name for r in rs}
    for a in alerts:
        assert a.rule in names and "aws_rds" in a.tags


def test_scan_input_type_errors(ruleset: ctrule.Ruleset) -> None:
    with pytest.raises(TypeError):
        list(ruleset.scan(12))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        list(ruleset.scan(["text chunk"]))
    with pytest.raises(TypeError, match="binary"):
        list(ruleset.scan(io.StringIO("{}")))
    with pytest.raises(TypeError):
        ruleset.scan(b"", on_match=print)
    sc = ruleset.scanner()
    with pytest.raises(TypeError):
        sc.feed("a str")  # type: ignore[arg-type]
    assert sc.feed(b"") and not sc.stopped  # a TypeError does not stop the scanner
    with pytest.raises(TypeError):
        ctrule.Scanner(ruleset, on_match=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctrule.Scanner("rules")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ctrule.Scanner(ruleset, max_json_depth=0)
    with pytest.raises(ValueError):
        list(ruleset.scan(b"{}", chunk_size=0))


def test_limits(ruleset: ctrule.Ruleset, records: list[Record]) -> None:
    big = max(records, key=lambda r: len(r.raw))
    small = min(records, key=lambda r: len(r.raw))
    data = small.raw + b"\n" + big.raw + b"\n" + small.raw + b"\n"
    scan = ruleset.scan(data, max_record_bytes=len(big.raw) - 1)
    list(scan)
    assert scan.stats.bad_records == 1 and scan.stats.records == 3
    err = scan.errors[0]
    assert err.index == 1 and err.offset == len(small.raw) + 1 and not err.evaluated


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc/self/statm")
def test_large_stream_in_chunks_keeps_memory_bounded(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                                     expected: list[tuple[int, str]]) -> None:
    copies = 40  # ~56 MB, never held in memory at once
    step = 65521  # records straddle chunk boundaries

    def stream() -> Iterator[bytes]:
        for _ in range(copies):
            for i in range(0, len(ndjson_bytes), step):
                yield ndjson_bytes[i:i + step]

    before = peak = _rss()
    n = 0
    last = -1
    scan = ruleset.scan(stream())
    for alert in scan:
        assert alert.record_index > last or alert.record_index == last
        last = alert.record_index
        n += 1
        if n % 500 == 0:
            peak = max(peak, _rss())
    assert n == copies * len(expected)
    assert scan.stats.records == copies * 1163 and scan.stats.bytes == copies * len(ndjson_bytes)
    assert last == (copies - 1) * 1163 + expected[-1][0]
    assert peak - before < 24 << 20, f"RSS grew by {(peak - before) >> 20} MiB"


def test_large_gzip_stream_from_file_object(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                            expected: list[tuple[int, str]]) -> None:
    packed = gzip.compress(ndjson_bytes * 10, compresslevel=1)
    scan = ruleset.scan(io.BufferedReader(io.BytesIO(packed)), chunk_size=8192)
    assert sum(1 for _ in scan) == 10 * len(expected)
    assert scan.stats.bytes == len(packed) and scan.stats.records == 11630


def test_files_read_to_their_end_whatever_their_size_says(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                                          expected: list[tuple[int, str]],
                                                          tmp_path: Path) -> None:
    """A file is read in a buffer no larger than its size at opening: a file
    that grew since, a pipe and a FIFO (size 0) and a file larger than the
    chunk size are still read to their end."""
    import threading
    half = ndjson_bytes.index(b"\n", len(ndjson_bytes) // 2) + 1
    grown = tmp_path / "grown.ndjson"
    grown.write_bytes(ndjson_bytes[:half])
    with open(grown, "rb") as f:
        with open(grown, "ab") as w:
            w.write(ndjson_bytes[half:])
        assert keys(list(ruleset.scan(f))) == expected

    def written(path_or_fd: Any) -> threading.Thread:
        def run() -> None:
            with open(path_or_fd, "wb") as w:
                w.write(ndjson_bytes)
        t = threading.Thread(target=run)
        t.start()
        return t

    r, w = os.pipe()
    t = written(w)
    with open(r, "rb") as f:
        assert os.fstat(f.fileno()).st_size == 0
        assert keys(list(ruleset.scan(f))) == expected
    t.join()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t = written(fifo)
    assert keys(list(ruleset.scan(fifo))) == expected
    t.join()
    assert keys(list(ruleset.scan(grown, chunk_size=len(ndjson_bytes) // 7))) == expected
