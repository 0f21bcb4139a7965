"""Many inputs on many cores: :func:`scan_files`.

The library releases the GIL while it scans, so threads sharing one
:class:`Ruleset` scan in parallel. Each thread keeps one :class:`Scanner`
(reset between inputs); results come back in the order of the inputs, as
``ctrule scan -j N`` prints them, whatever order the threads finish in."""

from __future__ import annotations

import dataclasses
import operator
import os
import threading
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ._engine import DEFAULT_CHUNK_SIZE, Ruleset, Scanner, Source
from ._errors import CtruleError
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


class _Worker:
    """A thread's scanner, its alerts and record errors collected per input."""

    def __init__(self, ruleset: Ruleset, options: dict[str, Any]) -> None:
        self.alerts: List[Alert] = []
        self.scanner = Scanner(ruleset, self.alerts.append, **options)
        self.stats = self.scanner.stats  # the counters after the last input

    def scan(self, source: Source, chunk_size: int) -> FileResult:
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
        return FileResult(source, list(self.alerts), _diff(self.stats, before), errors, error)


def scan_files(ruleset: Ruleset, sources: Iterable[Source], *, threads: Optional[int] = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[FileResult]:
    """Scans many inputs (paths, bytes, file objects) on ``threads`` threads
    (default: the cores this process may use): the calling thread, which
    scans while the result it waits for is not ready, and ``threads - 1``
    others, each with a :class:`Scanner` of its own on the shared
    ``ruleset`` (so Sigma correlations see the inputs of one thread). Yields a
    :class:`FileResult` per input in the order of ``sources``. An input that cannot be read or ends
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
    n = default_threads() if threads is None else int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {threads!r}")
    run = _Run(iter(sources), [_Worker(ruleset, options) for _ in range(n)], chunk_size)
    try:
        yield from run.results()
    finally:
        run.stop()


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
        self.slots: Dict[int, Tuple[Optional[FileResult], Optional[BaseException]]] = {}
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

    def put(self, i: int, out: Tuple[Optional[FileResult], Optional[BaseException]]) -> None:
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

    def results(self) -> Iterator[FileResult]:
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
