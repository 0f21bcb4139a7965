"""Many inputs on many cores: :func:`scan_files`.

The library releases the GIL while it scans, so threads sharing one
:class:`Ruleset` scan in parallel. Each thread keeps one :class:`Scanner`
(reset between inputs); results come back in the order of the inputs, as
``ctrule scan -j N`` prints them, whatever order the threads finish in."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import dataclasses
import operator
import os
import threading
from typing import Any, Deque, Iterable, Iterator, List, Optional

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
    (default: the cores this process may use), one :class:`Scanner` per
    thread on the shared ``ruleset``, and yields a :class:`FileResult` per
    input in the order of ``sources``. An input that cannot be read or ends
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
    local = threading.local()
    workers: List[_Worker] = []
    lock = threading.Lock()

    def one(source: Source) -> FileResult:
        w = getattr(local, "worker", None)
        if w is None:
            w = local.worker = _Worker(ruleset, options)
            with lock:
                workers.append(w)
        return w.scan(source, chunk_size)

    pending: Deque[cf.Future[FileResult]] = collections.deque()
    it = iter(sources)
    pool = cf.ThreadPoolExecutor(n, thread_name_prefix="ctrule-scan-files")
    try:
        while True:
            for source in it:
                pending.append(pool.submit(one, source))
                if len(pending) >= 64 * n + 64:  # a busy machine: the caller may wait for a core
                    break
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True)
        for w in workers:
            w.scanner.close()
