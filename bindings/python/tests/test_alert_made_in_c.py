"""A scan's Alerts are made in C (ctrule.i: ctrpy_match_alert, and
ctrpy_unpack_alert for scan_files' batches and C threads), their slots set
without Alert.__init__, the record, output, fields and the match saved for
its JSON line kept in one bytes object until one of them is read
(ctrpy_alert_unpack), the line written from the saved match only when
to_json() asks for it (ctrpy_alert_line), and rule names,
tags and field names shared from a table of decoded strings. These tests
hold each way of delivering alerts to what Alert.__init__ makes of the same
values, read in any order, on any thread, after the scanner and ruleset are
gone; and the shared strings to the ruleset that made each alert, whatever
was compiled and freed before. (The JSON line's bytes against the CLI's:
test_cli_parity.)"""

from __future__ import annotations

import gc
import json
import pickle
import threading
from pathlib import Path
from typing import Any, Callable, List

import pytest

import ctrule
from ctrule import Alert, Priority

SLOTS = ("rule", "priority", "output", "tags", "fields", "time_ns", "raw", "record_index",
         "byte_offset", "silenced")
TYPES = (str, Priority, str, tuple, dict, int, bytes, int, int, bool)


def by_hand(a: Alert) -> Alert:
    return Alert(a.rule, int(a.priority), a.output, a.tags, dict(a.fields), a.time_ns, a.raw,
                 a.record_index, a.byte_offset, a._line(), a.silenced)


def check_alert(a: Alert) -> None:
    assert type(a) is Alert
    if a._pack is not None:  # not read yet: nothing made of the pack
        assert type(a._pack) is bytes and a._output is None and a._fields is None
        assert a._raw is None and a._json is None and a._saved is None
    for name, t in zip(SLOTS, TYPES):
        assert type(getattr(a, name)) is t, name
    # Read: the line not written yet, the match saved for it.
    assert a._json is None and type(a._saved) is bytes
    assert all(type(t) is str for t in a.tags)
    assert all(type(k) is str and (v is None or type(v) is str) for k, v in a.fields.items())
    assert a.priority is list(Priority)[int(a.priority)]
    assert a._pack is None and a._event is None
    b = by_hand(a)  # reads the line: written from the saved match, which is let go
    assert type(a._json) is str and a._saved is None
    assert b == a and repr(b) == repr(a) and b.to_json() == a.to_json()
    c = pickle.loads(pickle.dumps(a))
    assert c == a and c.to_json() == a.to_json() and c.priority is a.priority
    # Slots as before: an attribute can be set, and nothing else can.
    a.output = a.output
    with pytest.raises(AttributeError):
        a.other = 1  # type: ignore[attr-defined]


def scanner_alerts(rs: ctrule.Ruleset, path: Path) -> List[Alert]:
    got: List[Alert] = []
    with rs.scanner(got.append) as sc:
        sc.scan(str(path))
    return got


def iterator_alerts(rs: ctrule.Ruleset, path: Path) -> List[Alert]:
    return list(rs.scan(path.read_bytes()))


def pool_alerts(rs: ctrule.Ruleset, path: Path) -> List[Alert]:  # C threads (ctrpy_pool)
    return [a for r in ctrule.scan_files(rs, [path, path], threads=2) for a in r.alerts]


def batched_alerts(rs: ctrule.Ruleset, path: Path) -> List[Alert]:  # Python threads, ctrpy_batch
    return [a for r in ctrule.scan_files(rs, [path, path], threads=2, strict=True) for a in r.alerts]


WAYS: List[Callable[[ctrule.Ruleset, Path], List[Alert]]] = [
    scanner_alerts, iterator_alerts, pool_alerts, batched_alerts]


@pytest.mark.parametrize("way", WAYS, ids=lambda f: f.__name__)
def test_every_way_gives_the_alerts_init_makes(way: Callable[..., List[Alert]], ruleset: ctrule.Ruleset,
                                               ndjson_path: Path, expected: list[tuple[int, str]]) -> None:
    alerts = way(ruleset, ndjson_path)
    assert alerts
    for a in alerts:
        check_alert(a)
    reference = scanner_alerts(ruleset, ndjson_path)
    n = len(reference)
    assert alerts[:n] == reference and [a.to_json() for a in alerts[:n]] == [a.to_json() for a in reference]


def rules_of_round(k: int, n: int) -> str:
    """n rules whose names, tags and output fields are this round's own
    (non-ASCII among them); every rule matches every CreateAccessKey."""
    return "".join(f"""
- rule: Rüle {k}.{i} ✓ {'x' * (i % 7)}
  desc: round {k}
  condition: ct.name = CreateAccessKey
  output: r{k} %ct.region %json.value[/requestParameters/r{k}ü{i}] %ct.user
  priority: {['ERROR', 'WARNING', 'NOTICE'][(k + i) % 3]}
  source: aws_cloudtrail
  tags: [t{k}, ü{i}]
""" for i in range(n))


def test_shared_strings_follow_each_ruleset(ndjson_bytes: bytes) -> None:
    """Rulesets compiled and freed in turn, 60 rounds of 12 rules (720 rule
    names, 1,440 tags, 720 field names: more than the table holds, so
    entries are replaced and addresses reused): every alert names its own
    ruleset's rule, tags and fields, as the rule's own text says."""
    for k in range(60):
        rs = ctrule.loads(rules_of_round(k, 12))
        want = {r.name: r for r in rs.rules}
        alerts = list(rs.scan(ndjson_bytes))
        assert alerts and {a.rule for a in alerts} == set(want)
        for a in alerts:
            r = want[a.rule]
            i = int(a.rule.split(".")[1].split(" ")[0])
            assert a.tags == r.tags == (f"t{k}", f"ü{i}")
            assert list(a.fields) == ["ct.region", f"json.value[/requestParameters/r{k}ü{i}]", "ct.user"]
            assert a.priority is r.priority
            assert a.output.startswith(f"r{k} ")
        del rs, alerts
        gc.collect()


def test_alerts_outlive_scanner_ruleset_and_thread(ndjson_path: Path) -> None:
    """Alerts made on another thread are read after their scanner and
    ruleset are gone and the next scan's alerts were made."""
    got: List[Any] = []

    def scan() -> None:
        rs = ctrule.load(Path(__file__).parent / "data" / "rules.yaml", builtins=[])
        got.extend(scanner_alerts(rs, ndjson_path))

    t = threading.Thread(target=scan)
    t.start()
    t.join()
    gc.collect()
    rs = ctrule.loads(rules_of_round(999, 3))
    later = list(rs.scan(ndjson_path.read_bytes()))
    assert got and later
    for a in got:
        check_alert(a)
        assert not a.rule.startswith("Rüle")
    assert {a.rule for a in later} == {r.name for r in rs.rules}


@pytest.mark.parametrize("first", ["output", "fields", "raw", "to_json", "eq", "pickle", "set_output",
                                   "set_fields", "set_raw", "event"])
def test_whichever_is_read_first_unpacks_all(first: str, ruleset: ctrule.Ruleset, ndjson_path: Path) -> None:
    """The first read (or write) of any packed attribute makes all four, as
    Alert.__init__ would have them; a write keeps what was written."""
    reference = [by_hand(a) for a in scanner_alerts(ruleset, ndjson_path)]
    alerts = scanner_alerts(ruleset, ndjson_path)
    for a, ref in zip(alerts, reference):
        assert a._pack is not None
        if first == "to_json":
            assert a.to_json() == ref.to_json()
        elif first == "eq":
            assert a == ref
        elif first == "pickle":
            assert pickle.loads(pickle.dumps(a)) == ref
        elif first == "event":
            assert a.event == ref.event
        elif first.startswith("set_"):
            name = first[4:]
            value = {"output": "x", "fields": {"f": None}, "raw": b"{}"}[name]
            setattr(a, name, value)
            assert getattr(a, name) is value
            setattr(ref, name, value)
        else:
            assert getattr(a, first) == getattr(ref, first)
        assert a._pack is None
        assert (a.output, a.fields, a.raw, a.to_json()) == (ref.output, ref.fields, ref.raw, ref.to_json())
        assert a == ref


def test_first_reads_on_many_threads_at_once(ruleset: ctrule.Ruleset, ndjson_path: Path) -> None:
    """Eight threads read the same fresh alerts at once, each attribute in
    its own order: every thread sees every value whole and equal."""
    reference = [by_hand(a) for a in scanner_alerts(ruleset, ndjson_path)]
    for _ in range(5):
        alerts = scanner_alerts(ruleset, ndjson_path)
        start = threading.Barrier(8)
        seen: List[Any] = []

        def read(k: int) -> None:
            start.wait()
            names = ["output", "fields", "raw", "_line"][k % 4:] + ["output", "fields", "raw", "_line"][:k % 4]
            got = []
            for a in alerts:
                got.append({n: (getattr(a, n)() if n == "_line" else getattr(a, n)) for n in names})
            seen.append(got)

        threads = [threading.Thread(target=read, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 8
        for got in seen:
            for g, ref in zip(got, reference):
                assert g == {"output": ref.output, "fields": ref.fields, "raw": ref.raw, "_line": ref._line()}


def test_a_pack_that_is_not_one_is_refused(ruleset: ctrule.Ruleset, ndjson_path: Path) -> None:
    """A pack cut short or replaced raises instead of reading past its end."""
    from ctrule import _capi
    a = scanner_alerts(ruleset, ndjson_path)[0]
    pack = a._pack
    assert pack is not None
    for bad in (pack[:len(pack) - 1], pack[:31], b"", (1 << 62).to_bytes(8, "little") + pack[8:]):
        a._pack = bad
        with pytest.raises(ValueError, match="not a pack"):
            a.output
    a._pack = "text"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        a.fields
    a._pack = pack
    assert a == by_hand(scanner_alerts(ruleset, ndjson_path)[0])
    with pytest.raises(TypeError):
        _capi.ctrpy_alert_unpack(object())


# JSON lines around the lengths where making them changes hands (ctrule.i):
# to_json() writes a line of up to 4 KiB from the saved match on the stack
# and a longer one again into memory of its own (CTRPY_LINE_ON_STACK); a
# batch grows past its first 64 KiB, then twice that, to hold a match saved
# with long values.
LINE_LENGTHS = (1000, 4095, 4096, 4097, 8192, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, 150_000)


def long_line_rules(pads: List[int]) -> str:
    return "".join(f"""
- rule: Long line {i:03d}
  desc: a JSON line of a chosen length
  condition: ct.name = ConsoleLogin
  output: "{'p' * pad}%ct.user %ct.region"
  priority: WARNING
  source: aws_cloudtrail
  tags: [long]
""" for i, pad in enumerate(pads))


@pytest.fixture(scope="module")
def long_lines(records: List[Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[ctrule.Ruleset, Path]:
    """A ruleset whose JSON lines have LINE_LENGTHS bytes on one ConsoleLogin
    record, repeated in a file (its padding is measured first: the line
    holds this host's name)."""
    record = next(r for r in records if r.doc["eventName"] == "ConsoleLogin")
    path = tmp_path_factory.mktemp("long") / "records.ndjson"
    path.write_bytes((record.raw + b"\n") * 6)
    probe = list(ctrule.loads(long_line_rules([0])).scan(record.raw))
    base = len(probe[0].to_json().encode())
    assert base < min(LINE_LENGTHS)
    return ctrule.loads(long_line_rules([n - base for n in LINE_LENGTHS])), path


@pytest.mark.parametrize("way", WAYS, ids=lambda f: f.__name__)
def test_json_lines_of_every_length(way: Callable[..., List[Alert]],
                                    long_lines: tuple[ctrule.Ruleset, Path]) -> None:
    """Every way of delivery gives each line whole, of the length its rule
    makes, the same bytes as a scanner's callback."""
    rs, path = long_lines
    alerts = way(rs, path)
    per_input = 6 * len(LINE_LENGTHS)
    assert len(alerts) in (per_input, 2 * per_input)
    lines = [a._line() for a in alerts]
    assert all(type(line) is str for line in lines)
    assert sorted(len(line.encode()) for line in lines[:per_input]) == sorted(LINE_LENGTHS * 6)
    for a, line in zip(alerts, lines):
        d = json.loads(line)
        assert d["rule"] == a.rule and d["output"].endswith(" " + a.output)
        assert d["output_fields"]["ct.user"] == a.fields["ct.user"]
    reference = scanner_alerts(rs, path)
    assert alerts[:per_input] == reference
    assert lines[:per_input] == [a._line() for a in reference]
