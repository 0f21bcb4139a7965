"""ctrule.scan_files: many inputs on threads, one scanner each, results in
input order and equal to scanning each input alone."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

import ctrule

from conftest import keys


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, ndjson_bytes: bytes) -> list[Path]:
    """Inputs of every kind: gzip and plain, bad JSON, corrupt gzip, empty,
    not CloudTrail, missing."""
    d = tmp_path_factory.mktemp("files")
    lines = ndjson_bytes.splitlines(keepends=True)
    paths: list[Path] = []
    for i in range(0, len(lines), 97):
        p = d / f"part-{i:05d}.json.gz"
        p.write_bytes(gzip.compress(b"".join(lines[i:i + 97]), mtime=0))
        paths.append(p)
    bad = d / "bad.ndjson"
    bad.write_bytes(lines[0] + b'{"eventVersion": oops}\n' + lines[1])
    corrupt = d / "corrupt.json.gz"
    raw = gzip.compress(b"".join(lines[:50]), mtime=0)
    corrupt.write_bytes(raw[: len(raw) // 2] + b"\x00garbage" * 8)
    empty = d / "empty.json"
    empty.write_bytes(b"")
    nokeys = d / "nokeys.json"
    nokeys.write_bytes(b'{"a": 1}\n')
    return [*paths[:5], bad, corrupt, *paths[5:9], empty, nokeys, d / "missing.json", *paths[9:]]


def _alone(ruleset: ctrule.Ruleset, path: Path) -> tuple[list[tuple[int, str]], ctrule.Stats, str | None]:
    got: list[ctrule.Alert] = []
    with ruleset.scanner(got.append) as sc:
        err = None
        try:
            sc.scan(path)
        except (OSError, ctrule.CtruleError) as exc:
            err = type(exc).__name__
            sc.reset()
        return keys(got), sc.stats, err


@pytest.mark.filterwarnings("ignore::ctrule.EmptyInputWarning")
@pytest.mark.parametrize("threads", [1, 2, 5])
def test_results_in_input_order_equal_to_each_input_alone(ruleset: ctrule.Ruleset, tree: list[Path],
                                                          threads: int) -> None:
    results = list(ctrule.scan_files(ruleset, tree, threads=threads))
    assert [r.source for r in results] == tree
    for path, res in zip(tree, results):
        alerts, stats, err = _alone(ruleset, path)
        assert keys(res.alerts) == alerts, path
        assert res.stats == stats, path
        assert (type(res.error).__name__ if res.error else None) == err, path
    by_name = {Path(r.source).name: r for r in results}
    assert isinstance(by_name["missing.json"].error, FileNotFoundError)
    assert isinstance(by_name["corrupt.json.gz"].error, ctrule.StreamError)
    assert isinstance(by_name["nokeys.json"].error, ctrule.NoRecordsError)
    assert by_name["bad.ndjson"].error is None and len(by_name["bad.ndjson"].errors) == 1
    assert by_name["bad.ndjson"].errors[0].index == 1
    assert sum(len(r.alerts) for r in results) > 0


def test_bytes_and_options(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                           expected: list[tuple[int, str]]) -> None:
    res = list(ctrule.scan_files(ruleset, [ndjson_bytes, ndjson_bytes], threads=2, first_match=True))
    assert [keys(r.alerts) for r in res] == [keys(list(ruleset.scan(ndjson_bytes, first_match=True)))] * 2
    with pytest.raises(TypeError, match="on_match"):
        list(ctrule.scan_files(ruleset, [ndjson_bytes], on_match=print))
    with pytest.raises(ValueError, match="threads"):
        list(ctrule.scan_files(ruleset, [ndjson_bytes], threads=0))


def test_leaving_early_stops_taking_inputs(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> None:
    taken: list[int] = []

    def sources():  # type: ignore[no-untyped-def]
        for i in range(2000):
            taken.append(i)
            yield ndjson_bytes

    gen = ctrule.scan_files(ruleset, sources(), threads=2)
    next(gen)
    gen.close()
    assert len(taken) <= 64 * 2 + 64 + 1


@pytest.mark.parametrize("threads", [1, 2])
def test_each_input_gets_its_own_record_errors(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                               threads: int) -> None:
    """A scanner keeps max_errors record errors: each input gets up to that
    many of its own, however many the inputs before it on that thread had."""
    good = ndjson_bytes.splitlines(keepends=True)[0]
    data = good + b'{"eventVersion": oops}\n' * 600
    results = list(ctrule.scan_files(ruleset, [data] * 5, threads=threads))
    assert [len(r.errors) for r in results] == [600] * 5
    assert [r.stats.bad_records for r in results] == [600] * 5
    assert all([e.index for e in r.errors] == list(range(1, 601)) for r in results)
    few = list(ctrule.scan_files(ruleset, [data] * 3, threads=threads, max_errors=10))
    assert [len(r.errors) for r in few] == [10] * 3 and [r.errors[0].index for r in few] == [1] * 3


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_failures_of_the_inputs_themselves_raise_at_their_place(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                                                threads: int) -> None:
    """An iterator of inputs that raises, or an input that is no input at
    all, raises where it stands, after the results before it; no thread is
    left behind."""
    import threading
    before = threading.active_count()

    def failing():  # type: ignore[no-untyped-def]
        yield ndjson_bytes
        yield ndjson_bytes
        raise RuntimeError("listing failed")

    got: list[ctrule.FileResult] = []
    with pytest.raises(RuntimeError, match="listing failed"):
        for res in ctrule.scan_files(ruleset, failing(), threads=threads):
            got.append(res)
    assert len(got) == 2 and all(r.error is None and r.alerts for r in got)
    got.clear()
    with pytest.raises(TypeError):
        for res in ctrule.scan_files(ruleset, [ndjson_bytes, ndjson_bytes, 42, ndjson_bytes],  # type: ignore[list-item]
                                     threads=threads):
            got.append(res)
    assert len(got) == 2
    assert threading.active_count() == before
    # Many more inputs than threads, all of them: the last results too.
    assert len(list(ctrule.scan_files(ruleset, [ndjson_bytes] * 40, threads=threads))) == 40
    assert threading.active_count() == before


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_matches_equal_one_by_one(ruleset: ctrule.Ruleset, ndjson_bytes: bytes, tmp_path: Path,
                                          threads: int) -> None:
    """scan_files' workers take a path's matches in batches (ctrpy_batch),
    handed over after the feeds and whenever 1 MiB of them is packed: the
    alerts, in order, and the record errors are those of a scanner called
    match by match, with bad records among the matches."""
    lines = ndjson_bytes.splitlines(keepends=True)
    body = b"".join(line + (b'{"eventVersion": oops}\n' if i % 7 == 0 else b"") for i, line in enumerate(lines))
    path = tmp_path / "many.ndjson"
    path.write_bytes(body * 40)
    one: list[ctrule.Alert] = []
    seen: list[ctrule.RecordError] = []
    with ruleset.scanner(one.append, on_error=seen.append) as sc:
        sc.scan(io.BytesIO(path.read_bytes()))  # a file object: fed chunk by chunk, one call per match
        errors = list(sc.errors)
    assert sum(len(a.raw) + len(a.to_json()) for a in one) > 2 << 20  # flushed mid-file at least once
    [res] = list(ctrule.scan_files(ruleset, [path], threads=threads))
    assert [(a.record_index, a.byte_offset, a.to_json()) for a in res.alerts] == \
        [(a.record_index, a.byte_offset, a.to_json()) for a in one]
    assert [(e.index, e.text) for e in res.errors] == [(e.index, e.text) for e in errors] and errors == seen[:1000]


def test_a_raising_error_callback_stops_a_batched_scan(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                                       tmp_path: Path) -> None:
    """An exception from on_error, raised while a worker's matches are
    batched, comes out of scan_files."""
    path = tmp_path / "bad.ndjson"
    path.write_bytes(ndjson_bytes + b'{"eventVersion": oops}\n' + ndjson_bytes)

    def fail(e: ctrule.RecordError) -> None:
        raise LookupError(f"record {e.index}")

    with pytest.raises(LookupError, match="record"):
        list(ctrule.scan_files(ruleset, [path], threads=1, on_error=fail))


# ------------------------------------------------ paths on C threads (ctrpy_pool)

def _outcome(results: list[ctrule.FileResult]) -> list[object]:
    """Everything a result says, comparable across runs."""
    return [(str(r.source), [(a.rule, a.record_index, a.byte_offset, a.silenced, a.to_json()) for a in r.alerts],
             r.stats, [(e.status, e.index, e.offset, e.evaluated, e.text) for e in r.errors],
             type(r.error).__name__ if r.error else None, str(r.error) if r.error else None)
            for r in results]


def _scanner_per_input(ruleset: ctrule.Ruleset, sources: list[object], **options: object) -> list[ctrule.FileResult]:
    """What a fresh Scanner per input finds, as a FileResult."""
    out = []
    for src in sources:
        got: list[ctrule.Alert] = []
        with ruleset.scanner(got.append, **options) as sc:  # type: ignore[arg-type]
            err = None
            try:
                sc.scan(src)  # type: ignore[arg-type]
            except (OSError, ctrule.CtruleError) as exc:
                err = exc
                sc.reset()
            out.append(ctrule.FileResult(src, got, sc.stats, list(sc.errors), err))
    return out


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory, ndjson_bytes: bytes) -> list[Path]:
    """120 small log files with alerts (gzip and plain, bad records among
    the matches) and, among them, inputs that fail each way: a directory,
    a missing file, a path through a file (ENOTDIR), corrupt gzip, empty,
    not CloudTrail."""
    d = tmp_path_factory.mktemp("many")
    lines = ndjson_bytes.splitlines(keepends=True)
    paths: list[Path] = []
    for i in range(120):
        part = lines[(i * 13) % len(lines):(i * 13) % len(lines) + 17]
        body = b"".join(line + (b'{"eventVersion": oops}\n' if (i + k) % 9 == 0 else b"")
                        for k, line in enumerate(part))
        p = d / f"{i:03d}.json{'.gz' if i % 2 else ''}"
        p.write_bytes(gzip.compress(body, mtime=0) if i % 2 else body)
        paths.append(p)
    (d / "sub").mkdir()
    corrupt = d / "corrupt.json.gz"
    raw = gzip.compress(b"".join(lines[:50]), mtime=0)
    corrupt.write_bytes(raw[: len(raw) // 2] + b"\x00garbage" * 8)
    (d / "empty.json").write_bytes(b"")
    (d / "nokeys.json").write_bytes(b'{"a": 1}\n')
    odd = [d / "sub", d / "missing.json", paths[0] / "x.json", corrupt, d / "empty.json", d / "nokeys.json"]
    for k, p in enumerate(odd):
        paths.insert(7 + 19 * k, p)
    return paths


def _tasks() -> int:
    import os
    return len(os.listdir("/proc/self/task"))


@pytest.mark.filterwarnings("ignore::ctrule.EmptyInputWarning")
def test_paths_on_c_threads_equal_a_scanner_per_input(ruleset: ctrule.Ruleset, many: list[Path]) -> None:
    """Paths are scanned on C threads (no Python thread is started): with 1,
    2 and 3 threads every result (alerts in order, stats, record errors,
    the input's error and its message) is that of a fresh Scanner per input."""
    import threading
    alone = _outcome(_scanner_per_input(ruleset, many))
    for threads in (1, 2, 3):
        before, seen = threading.active_count(), set()
        got = []
        for res in ctrule.scan_files(ruleset, many, threads=threads):
            seen.add(threading.active_count())
            got.append(res)
        assert seen == {before}, threads  # the C pool's threads are no Python threads
        assert _outcome(got) == alone, threads
    by_name = {Path(r.source).name: r for r in got}
    assert isinstance(by_name["sub"].error, IsADirectoryError)
    assert isinstance(by_name["missing.json"].error, FileNotFoundError)
    assert isinstance(by_name["x.json"].error, NotADirectoryError)
    assert by_name["x.json"].error.filename == many[0] / "x.json"  # type: ignore[union-attr]
    assert isinstance(by_name["corrupt.json.gz"].error, ctrule.StreamError)
    assert isinstance(by_name["nokeys.json"].error, ctrule.NoRecordsError)
    assert by_name["empty.json"].error is None and by_name["empty.json"].stats.records == 0
    assert sum(len(r.alerts) for r in got) > 100 and sum(len(r.errors) for r in got) > 20


@pytest.mark.filterwarnings("ignore::ctrule.EmptyInputWarning")
def test_on_error_is_called_in_input_order(ruleset: ctrule.Ruleset, many: list[Path]) -> None:
    """on_error gets every record error of every input, in input order,
    before that input's result, whatever thread scanned it, even past
    max_errors (which bounds each result's errors only)."""
    alone = _scanner_per_input(ruleset, many, max_errors=2)
    want = []
    for i, src in enumerate(many):
        seen: list[ctrule.RecordError] = []
        with ruleset.scanner(on_error=seen.append) as sc:
            try:
                sc.scan(src)
            except (OSError, ctrule.CtruleError):
                pass
        want += [(i, e.index, e.offset, e.text) for e in seen]
    assert len(want) > 40 and any(len(r.errors) == 2 for r in alone)
    for threads in (1, 2):
        calls: list[tuple[int, int, int, str]] = []
        results: list[ctrule.FileResult] = []
        for res in ctrule.scan_files(ruleset, many, threads=threads, max_errors=2,
                                     on_error=lambda e: calls.append((len(results), e.index, e.offset, e.text))):
            results.append(res)
        assert calls == want, threads
        assert _outcome(results) == _outcome(alone), threads


@pytest.mark.filterwarnings("ignore::ctrule.EmptyInputWarning")
@pytest.mark.parametrize("threads", [1, 2])
def test_a_raising_error_callback_on_c_threads(ruleset: ctrule.Ruleset, many: list[Path], threads: int) -> None:
    """An on_error that raises on the first bad record comes out of
    scan_files at that input, after the results before it; no thread is
    left behind."""
    tasks = _tasks()

    def fail(e: ctrule.RecordError) -> None:
        raise LookupError(f"record {e.index}")

    got: list[ctrule.FileResult] = []
    with pytest.raises(LookupError, match="record"):
        for res in ctrule.scan_files(ruleset, many, threads=threads, on_error=fail):
            got.append(res)
    first_bad = next(i for i, r in enumerate(_scanner_per_input(ruleset, many)) if r.errors)
    assert len(got) == first_bad
    assert _tasks() == tasks


@pytest.mark.filterwarnings("ignore::ctrule.EmptyInputWarning")
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_paths_mixed_with_other_inputs(ruleset: ctrule.Ruleset, many: list[Path], ndjson_bytes: bytes,
                                       threads: int) -> None:
    """Among paths, bytes, file objects, str paths and a lazy iterator:
    each result is that of a Scanner per input, in input order."""
    def sources():  # type: ignore[no-untyped-def]
        for i, p in enumerate(many[:60]):
            if i % 4 == 0 or not p.is_file():
                yield p
            elif i % 4 == 1:
                yield str(p)
            elif i % 4 == 2:
                yield p.read_bytes()
            else:
                yield io.BytesIO(p.read_bytes())

    want = _outcome(_scanner_per_input(ruleset, list(sources())))
    got = list(ctrule.scan_files(ruleset, sources(), threads=threads))
    kinds = [type(r.source).__name__ for r in got]
    assert kinds.count("bytes") >= 10 and kinds.count("BytesIO") >= 10 and kinds.count("str") >= 10
    # a BytesIO is a new object each time: compared without the source's repr
    assert [o[1:] for o in _outcome(got)] == [o[1:] for o in want]


def test_leaving_early_stops_the_c_threads(ruleset: ctrule.Ruleset, many: list[Path]) -> None:
    """Leaving the loop early (or an iterator of paths that raises) ends the
    C threads: none is left behind."""
    tasks = _tasks()
    gen = ctrule.scan_files(ruleset, many * 20, threads=2)
    assert next(gen).source == many[0]
    assert _tasks() == tasks + 1  # one C thread besides the caller
    gen.close()
    assert _tasks() == tasks

    def failing():  # type: ignore[no-untyped-def]
        yield from many[:5]
        raise RuntimeError("listing failed")

    got = []
    with pytest.raises(RuntimeError, match="listing failed"):
        for res in ctrule.scan_files(ruleset, failing(), threads=3):
            got.append(res)
    assert [r.source for r in got] == many[:5] and _tasks() == tasks


def test_options_reach_the_c_scanners(ruleset: ctrule.Ruleset, many: list[Path]) -> None:
    """Scanner options apply to the C threads' scanners, and bad ones are
    refused as Scanner refuses them."""
    paths = [p for p in many if p.is_file()][:30]
    for options in ({"first_match": True}, {"max_record_bytes": 300}, {"limits": {"regex_match": 10}}):
        want = _outcome(_scanner_per_input(ruleset, paths, **options))
        assert _outcome(list(ctrule.scan_files(ruleset, paths, threads=2, **options))) == want, options
    with pytest.raises(ValueError):
        list(ctrule.scan_files(ruleset, paths, threads=2, max_record_bytes=-1))
    with pytest.raises(TypeError):
        list(ctrule.scan_files(ruleset, paths, threads=2, on_error=42))


@pytest.mark.parametrize("threads", [1, 2])
def test_strict_and_a_nul_path_among_paths(ruleset: ctrule.Ruleset, many: list[Path], threads: int) -> None:
    """Strict mode (Python threads: it stops at the feed a bad record was
    in) gives a Scanner's BadRecordError per input; a path with a NUL, which
    no C thread opens, raises ValueError at its place."""
    paths = [p for p in many if p.is_file()][:20]
    want = _outcome(_scanner_per_input(ruleset, paths, strict=True))
    got = list(ctrule.scan_files(ruleset, paths, threads=threads, strict=True))
    assert _outcome(got) == want and any(isinstance(r.error, ctrule.BadRecordError) for r in got)
    done: list[ctrule.FileResult] = []
    with pytest.raises(ValueError, match="null"):
        for res in ctrule.scan_files(ruleset, [*paths[:3], str(paths[3]) + "\0x", *paths[4:]], threads=threads):
            done.append(res)
    assert [r.source for r in done] == paths[:3]


def test_ctrl_c_while_the_caller_waits_for_a_c_thread(ruleset: ctrule.Ruleset, ndjson_bytes: bytes,
                                                      tmp_path: Path) -> None:
    """A Ctrl-C while the caller waits in C for a file a C thread is still
    reading is handled within a fraction of a second (KeyboardInterrupt out
    of scan_files), not once that file ends: here a FIFO no one opens for
    writing until 3 s later."""
    import _thread
    import os
    import signal
    import threading
    import time
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    small = tmp_path / "small.json"
    small.write_bytes(ndjson_bytes)
    sent: list[float] = []
    handled: list[float] = []

    def on_sigint(signum: int, frame: object) -> None:
        handled.append(time.monotonic())
        raise KeyboardInterrupt

    def sources():  # type: ignore[no-untyped-def]
        yield fifo
        time.sleep(0.3)  # the C thread claims the FIFO (and blocks opening it); the caller takes small
        yield small

    def later() -> None:
        time.sleep(0.8)
        sent.append(time.monotonic())
        _thread.interrupt_main()
        time.sleep(3)
        with open(fifo, "wb") as f:  # lets the thread blocked in open() go
            f.write(ndjson_bytes)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        t = threading.Thread(target=later)
        t.start()
        with pytest.raises(KeyboardInterrupt):
            list(ctrule.scan_files(ruleset, sources(), threads=2))
        t.join()
    finally:
        signal.signal(signal.SIGINT, old)
    assert sent and handled and handled[0] - sent[0] < 2.0
