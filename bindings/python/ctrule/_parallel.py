"""Many inputs on many cores: :func:`scan_files`.

A call whose first input is a path scans paths on C threads (ctrule.i:
ctrpy_pool), as ``ctrule scan -j N`` does: each thread opens, reads, feeds
and finishes a file with a scanner of its own without the GIL, and the
caller builds the results in input order (an input that is not a path is
scanned by the caller in its turn). Other calls (S3 objects streamed by
ctrule.s3, bytes, file objects; strict mode) scan on Python threads: the
library releases the GIL while it scans, so threads sharing one
:class:`Ruleset` scan in parallel, each with one :class:`Scanner` (reset
between inputs). Either way results come back in the order of the inputs,
as ``ctrule scan -j N`` prints them, whatever order the threads finish in.

Sigma correlations see every input in input order whatever the threads, as
in ``ctrule scan``: with an enabled correlation in the ruleset the threads'
scanners correlate nothing (``no_correlation``) and note each record with a
match; in input order, the caller's thread feeds each input's noted records
to one ``only_correlation`` scanner (one stream for the whole call, finished
after the last input), whose alerts and reports join that input's result on
its own record index and byte offset."""

from __future__ import annotations

import collections
import dataclasses
import itertools
import operator
import os
import threading
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple

from . import _capi
from ._engine import (DEFAULT_CHUNK_SIZE, Ruleset, Scanner, Source, _check, _check_records,
                      _configure, _stat_fields)
from ._errors import CtruleError, StreamError
from ._model import Alert, RecordError, Stats, _stats_values


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What :func:`scan_files` found in one input.

    Attributes:
        source: the input, as given.
        alerts: its alerts, in stream order (those found before an error too).
        stats: its own counters.
        errors: its bad records (up to the scanner's ``max_errors``).
        error: why it could not be scanned to its end (``OSError``,
            :class:`StreamError`, :class:`NoRecordsError`, ...), or None.
    """

    source: Any
    alerts: List[Alert]
    stats: Stats
    errors: List[RecordError]
    error: Optional[BaseException] = None


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _diff(after: Stats, before: Stats) -> Stats:
    return Stats(*map(operator.sub, _stats_values(after), _stats_values(before)))


# A record with a match, noted for the correlations: its bytes (an Alert's
# raw, not copied again), record index and byte offset in its input.
_Kept = Tuple[bytes, int, int]
# What a thread leaves for the caller: the input's result and its noted records.
_Done = Tuple[FileResult, List[_Kept]]


def _correlates(ruleset: Ruleset) -> bool:
    """Whether an enabled rule is a Sigma correlation (the compiler tags them)."""
    return any("sigma.correlation" in r.tags for r in ruleset.enabled_rules)


class _Worker:
    """A thread's scanner, its alerts and record errors collected per input.
    ``forward``: the scanner correlates nothing and the records with a match
    are noted for the caller's correlator (silenced matches only noted)."""

    def __init__(self, ruleset: Ruleset, options: dict[str, Any], forward: bool) -> None:
        self.alerts: List[Alert] = []
        self.forward = forward
        self.scanner = Scanner(ruleset, self.alerts.append, no_correlation=forward, **options)
        # A file's matches reach alerts.append in batches, the GIL taken once
        # for many (ctrule.i: ctrpy_batch): list.append never stops a scan.
        self.scanner._batch = self.scanner._match_cb
        self.stats = self.scanner.stats  # the counters after the last input

    def scan(self, source: Source, chunk_size: int) -> _Done:
        sc = self.scanner
        before = self.stats
        self.alerts.clear()
        error: Optional[BaseException] = None
        try:
            sc.scan(source, chunk_size=chunk_size)
        except (OSError, CtruleError) as exc:  # the input's failure, not the run's
            error = exc
            sc.reset()
        # The scanner keeps max_errors errors in all: taken per input, so
        # that each input gets up to max_errors of its own.
        errors = list(sc.errors)
        sc.errors.clear()
        self.stats = sc.stats
        return _done(source, list(self.alerts), _diff(self.stats, before), errors, error, self.forward)


def _done(source: Source, matches: List[Alert], stats: Stats, errors: List[RecordError],
          error: Optional[BaseException], forward: bool) -> _Done:
    """An input's result from its scanner's matches: with ``forward``, the
    alerts to show and the records to forward (each once: a record's
    matches come one after another)."""
    if not forward:
        return FileResult(source, matches, stats, errors, error), []
    shown: List[Alert] = []
    kept: List[_Kept] = []
    for a in matches:
        if not kept or kept[-1][1:] != (a.record_index, a.byte_offset):
            kept.append((a.raw, a.record_index, a.byte_offset))
        if not a.silenced:
            shown.append(a)
    if len(shown) != len(matches):  # a silenced match is no alert of the input's (as the CLI counts)
        stats = dataclasses.replace(stats, matches=stats.matches - (len(matches) - len(shown)))
    return FileResult(source, shown, stats, errors, error), kept


class _Correlator:
    """The one ``only_correlation`` scanner of a scan_files call, fed each
    input's noted records in input order as one NDJSON stream. What it finds
    while a record is fed (or, at the end, on the last record fed) is
    placed on that record's index and byte offset in its input."""

    def __init__(self, ruleset: Ruleset, options: dict[str, Any]) -> None:
        opts = {k: v for k, v in options.items() if k not in ("on_error", "strict", "max_errors")}
        self.on_error: Optional[Callable[[RecordError], None]] = options.get("on_error")
        self.alerts: List[Alert] = []
        self.errors: List[RecordError] = []
        self.max_errors = int(options.get("max_errors", 1000))
        self.scanner = Scanner(ruleset, self._match, on_error=self._error,
                               only_correlation=True, **opts)
        self.scanner._feed = _capi.ctrpy_scanner_feed_held
        self.place: Tuple[int, int] = (0, 0)  # the noted record being fed
        self.fed = 0  # records fed, one stream

    def _match(self, a: Alert) -> None:
        # Placed on the record being fed when it comes (as the CLI places
        # it): the one that completed it, not the input's last noted one.
        a.record_index, a.byte_offset = self.place
        self.alerts.append(a)

    def _error(self, e: RecordError) -> None:
        index, offset = self.place
        placed = RecordError(e.status, index, offset, e.message, e.evaluated,
                             f"record {index} at byte {offset}: {e.message}")
        self.errors.append(placed)
        if self.on_error is not None:
            self.on_error(placed)

    def _take(self, res: FileResult) -> FileResult:
        """res with what the correlator found since the last take (its
        reports are about the correlations: they count in no statistic)."""
        if not self.alerts and not self.errors:
            return res
        room = max(0, self.max_errors - len(res.errors))
        stats = dataclasses.replace(res.stats, matches=res.stats.matches + len(self.alerts))
        out = dataclasses.replace(res, alerts=res.alerts + self.alerts, stats=stats,
                                  errors=res.errors + self.errors[:room])
        self.alerts.clear()  # the lists the callbacks append to
        self.errors.clear()
        return out

    def feed(self, res: FileResult, kept: List[_Kept]) -> FileResult:
        sc = self.scanner
        for raw, index, offset in kept:
            self.place = (index, offset)
            sc.feed(raw + b"\n")
            self.fed += 1
            if sc._counts()[0] != self.fed:  # its placement needs one record per noted record
                raise RuntimeError(f"{res.source!r}: record {index} at byte {offset}: internal error: "
                                   "the record did not read back as one record to correlate")
        return self._take(res)

    def finish(self, res: FileResult) -> FileResult:
        """The stream's end, after the last input: what is decided then is
        placed on the last record fed, in ``res`` (its input)."""
        self.scanner.finish()
        return self._take(res)


def scan_files(ruleset: Ruleset, sources: Iterable[Source], *, threads: Optional[int] = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[FileResult]:
    """Scans many inputs (paths, bytes, file objects) on ``threads`` threads
    (default: the cores this process may use): the calling thread, which
    scans while the result it waits for is not ready, and ``threads - 1``
    others, each with a scanner of its own on the shared ``ruleset`` (C
    threads when the first input is a path: see the module's doc). Yields
    a :class:`FileResult` per input in the order of ``sources``, the same
    whatever ``threads``, equal to what a :class:`Scanner` per input finds.
    With paths, ``on_error`` is called on the calling thread for each record
    error of an input, in order, just before its result is yielded. Sigma correlations see every
    input in input order (see the module's doc): a correlation's alert is in
    the result of the input whose record completed it, after that input's
    own alerts, on that record's index and offset; one a stream's end
    decides (a window with an upper bound) is on the last record with a
    match. So with an enabled correlation, the result of an input with a
    match is yielded once a later input with a match was correlated, or at
    the end. An input that cannot be read or ends
    in a stream error is a result with ``error`` set; the others go on. At
    most 64 inputs per thread, and 64 more, are taken ahead of the one the
    caller is waiting for (as ``ctrule scan -j N``); leaving the loop early
    stops taking new inputs.
    ``options`` are those of :class:`Scanner` except ``on_match``::

        for res in ctrule.scan_files(ruleset, sorted(glob.glob("logs/**/*.json.gz", recursive=True))):
            for alert in res.alerts:
                print(res.source, alert.rule)
    """
    if "on_match" in options:
        raise TypeError("scan_files() takes no on_match: each FileResult carries its alerts")
    for k in ("no_correlation", "only_correlation"):
        if k in options:
            raise TypeError(f"scan_files() takes no {k}: it correlates every input in input order")
    n = default_threads() if threads is None else int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {threads!r}")
    forward = _correlates(ruleset)
    corr = _Correlator(ruleset, options) if forward else None
    run: Optional[Any] = None
    try:
        run = _runner(ruleset, iter(sources), n, chunk_size, options, forward)
        if corr is None:
            yield from (res for res, _ in run.results())
        else:
            yield from _correlated(run.results(), corr)
    finally:
        if run is not None:
            run.stop()
        if corr is not None:
            corr.scanner.close()


def _runner(ruleset: Ruleset, inputs: Iterator[Source], n: int, chunk_size: int,
            options: dict[str, Any], forward: bool) -> Any:
    """A call whose first input is a path scans on C threads (_Pool);
    others (and strict mode, which stops at the feed a bad record was in)
    on Python threads (_Run), as S3 objects streamed by ctrule.s3 are."""
    try:
        first = next(inputs)
    except StopIteration:
        return _Run(inputs, [_Worker(ruleset, options, forward) for _ in range(n)], chunk_size)
    inputs = itertools.chain((first,), inputs)
    if _fspath(first) is not None and not options.get("strict"):
        return _Pool(ruleset, inputs, n, chunk_size, options, forward)
    return _Run(inputs, [_Worker(ruleset, options, forward) for _ in range(n)], chunk_size)


def _fspath(source: Source) -> Optional[bytes]:
    """The path a C thread opens for source, or None: not a path (or one
    with a NUL, which the Python way reports)."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        path = os.fsencode(source)
    except (TypeError, ValueError):
        return None
    return None if b"\0" in path else path


class _Pool:
    """One scan_files call on C threads (ctrule.i: ctrpy_pool): each path
    is opened, read, fed and finished in C by the next free thread, or by
    the caller while the result it takes is not ready, and the caller
    builds each FileResult from the C result in input order, calling
    ``on_error`` for the input's record errors then. An input that is not a
    path is scanned by the caller, in its turn, as _Run's workers scan it.
    Results, stats and errors are those of a Scanner per input."""

    def __init__(self, ruleset: Ruleset, inputs: Iterator[Source], n: int, chunk_size: int,
                 options: dict[str, Any], forward: bool) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.on_error: Optional[Callable[[RecordError], None]] = options.get("on_error")
        if self.on_error is not None and not callable(self.on_error):
            raise TypeError("on_error must be callable or None")
        self.max_errors = int(options.get("max_errors", 1000))
        self.ruleset, self.inputs, self.chunk_size = ruleset, inputs, chunk_size
        self.options, self.forward = options, forward
        # At most 64 inputs per thread (and 64) ahead of the caller, as _Run.
        self.cap = 64 * n + 64
        keep = 2**64 - 1 if self.on_error is not None else max(0, self.max_errors)
        status, self.pool = _capi.ctrpy_pool_new(ruleset._ptr, n, self.cap, chunk_size, keep)
        _check(status)
        try:
            config = {k: v for k, v in options.items() if k not in ("on_error", "strict", "max_errors")}
            for k in range(n):
                _configure(_capi.ctrpy_pool_scanner(self.pool, k), no_correlation=forward, **config)
            _check(_capi.ctrpy_pool_start(self.pool))
        except BaseException:
            _capi.ctrpy_pool_free(self.pool)
            raise
        self.queue: Deque[Tuple[Source, Optional[bytes]]] = collections.deque()
        self.end = False
        self.failure: Optional[BaseException] = None  # the inputs iterator's, raised at its place
        self.worker: Optional[_Worker] = None  # for inputs that are not paths

    def fill(self) -> None:
        queue, push, pool = self.queue, _capi.ctrpy_pool_push, self.pool
        while len(queue) < self.cap:
            try:
                source = next(self.inputs)
            except StopIteration:
                self.end = True
                return
            except BaseException as exc:
                self.end, self.failure = True, exc
                return
            path = _fspath(source)
            push(pool, path)
            queue.append((source, path))

    def results(self) -> Iterator[_Done]:
        queue, pool, take = self.queue, self.pool, _capi.ctrpy_pool_take
        while True:
            if not self.end:
                self.fill()
            if not queue:
                if self.failure is not None:
                    raise self.failure
                return
            source, path = queue.popleft()
            if path is None:
                _capi.ctrpy_pool_skip(pool)
                if self.worker is None:
                    self.worker = _Worker(self.ruleset, self.options, self.forward)
                yield self.worker.scan(source, self.chunk_size)
            else:
                yield self.result(source, take(pool))

    def result(self, source: Source, taken: Tuple[Any, ...]) -> _Done:
        status, finished, err, counts, matches, errs, incomplete, last_offset, last_error = taken
        stats = Stats(*_stat_fields(counts))
        errors = [RecordError(*e) for e in errs]
        if self.on_error is not None:
            for e in errors:
                self.on_error(e)
            del errors[max(0, self.max_errors):]
        error: Optional[BaseException] = None
        if err:
            error = OSError(err, os.strerror(err), source)
        elif status in (_capi.CTR_EDATA, _capi.CTR_ELIMIT):
            error = StreamError(status, last_error or "invalid input", last_offset)
        elif status not in (_capi.CTR_OK, _capi.CTR_STOPPED):
            error = CtruleError(status)
        elif finished and status == _capi.CTR_OK:
            try:
                _check_records(stats.records, stats.bad_records, stats.skipped, incomplete, stacklevel=5)
            except CtruleError as exc:
                error = exc
        return _done(source, matches, stats, errors, error, self.forward)

    def stop(self) -> None:
        _capi.ctrpy_pool_free(self.pool)
        if self.worker is not None:
            self.worker.scanner.close()


def _correlated(done: Iterator[_Done], corr: _Correlator) -> Iterator[FileResult]:
    """The results in order with the correlator's findings joined. The
    result of the last input with a match is held (with those after it)
    until a later one with a match comes or the stream ends, since the end
    may decide a correlation on its last record."""
    held: List[FileResult] = []
    while True:
        try:
            res, kept = next(done)
        except StopIteration:
            break
        except BaseException:  # the caller's iterator failed: what came before it first
            yield from held
            raise
        if kept:
            res = corr.feed(res, kept)
            yield from held
            held = [res]
        elif held:
            held.append(res)
        else:
            yield res
    if held:
        held[0] = corr.finish(held[0])
        yield from held


class _Run:
    """One scan_files call: the caller's thread and n - 1 others each take
    the next input themselves and leave its result in that input's slot;
    the caller yields the slots in order and, while the one it needs is not
    ready, scans an input itself rather than sleep. Every hand-off between
    threads is a wait for the GIL: with a pool, a future per input and a
    caller woken for each result, two threads scanned 2,000 small log files
    no faster than one."""

    def __init__(self, inputs: Iterator[Source], workers: List[_Worker], chunk_size: int) -> None:
        self.inputs, self.workers, self.chunk_size = inputs, workers, chunk_size
        self.claim = threading.Lock()  # the inputs iterator, claimed, end, stopping
        self.claimed = 0
        self.end: Optional[int] = None  # how many inputs there are, once known
        self.stopping = False
        self.done = threading.Condition()  # slots, waiting
        self.slots: Dict[int, Tuple[Optional[_Done], Optional[BaseException]]] = {}
        self.waiting = -1
        # At most 64 inputs per thread (and 64) ahead of the caller: on a
        # busy machine the caller may wait for a core.
        self.room = threading.Semaphore(64 * len(workers) + 64)
        self.threads = [threading.Thread(target=self.work, args=(w,), daemon=True,
                                         name=f"ctrule-scan-files-{k}")
                        for k, w in enumerate(workers[1:], 1)]
        for t in self.threads:
            t.start()

    def take(self, w: _Worker) -> bool:
        """Claims the next input and scans it into its slot (the caller
        holds a permit of room); False once there is none to take."""
        with self.claim:
            if self.stopping or self.end is not None:
                return False
            i = self.claimed
            try:
                source = next(self.inputs)
            except StopIteration:
                self.end = i
                with self.done:
                    self.done.notify()
                return False
            except BaseException as exc:  # the caller's iterator failed: raised at its place
                self.end = i + 1
                self.put(i, (None, exc))
                return False
            self.claimed = i + 1
        try:
            self.put(i, (w.scan(source, self.chunk_size), None))
        except BaseException as exc:  # not the input's failure (a bug, memory): the caller's
            self.put(i, (None, exc))
        return True

    def put(self, i: int, out: Tuple[Optional[_Done], Optional[BaseException]]) -> None:
        with self.done:
            self.slots[i] = out
            if self.waiting == i:
                self.done.notify()

    def work(self, w: _Worker) -> None:
        while True:
            self.room.acquire()
            if not self.take(w):
                return

    def ready(self, i: int) -> bool:
        return i in self.slots or (self.end is not None and i >= self.end)

    def results(self) -> Iterator[_Done]:
        i = 0
        while True:
            while not self.ready(i) and self.room.acquire(blocking=False):
                if not self.take(self.workers[0]):
                    self.room.release()
                    break
            with self.done:
                while not self.ready(i):
                    self.waiting = i
                    self.done.wait()
                self.waiting = -1
                if i not in self.slots:
                    return
                res, exc = self.slots.pop(i)
            self.room.release()
            if exc is not None:
                raise exc
            assert res is not None
            yield res
            i += 1

    def stop(self) -> None:
        with self.claim:
            self.stopping = True
        if self.threads:
            self.room.release(len(self.threads))  # wakes those waiting for room
        for t in self.threads:
            t.join()
        for w in self.workers:
            w.scanner.close()
