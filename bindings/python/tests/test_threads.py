"""The GIL is released while the library scans: threads sharing one ruleset
scan in parallel and get the same results."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import ctrule
from ctrule import Alert

from conftest import keys


@pytest.fixture(scope="module")
def big(ruleset: ctrule.Ruleset, ndjson_bytes: bytes) -> bytes:
    """The real records repeated until one callback-free scan takes ~0.4 s."""
    t0 = time.perf_counter()
    ruleset.count(ndjson_bytes)
    once = max(time.perf_counter() - t0, 1e-4)
    reps = int(min(max(0.4 / once, 4), 200))
    return ndjson_bytes * reps


def test_gil_is_released_during_a_scan(ruleset: ctrule.Ruleset, big: bytes) -> None:
    window: list[float] = []

    def worker() -> None:
        sc = ruleset.scanner()  # count only: the whole feed is one C call
        t0 = time.perf_counter()
        sc.feed(big)
        window.extend((t0, time.perf_counter()))
        sc.finish()

    ticks: list[float] = []
    th = threading.Thread(target=worker)
    th.start()
    while th.is_alive():
        ticks.append(time.perf_counter())
    th.join()
    t0, t1 = window
    inside = [t for t in ticks if t0 <= t <= t1]
    # With the GIL held this thread could not run during the feed: no tick
    # would fall inside the call. Released, it ticks inside it, in its first
    # and its second half. (Not a bound on the gaps between ticks: on a
    # loaded machine the OS alone may stop this thread for a fifth of the
    # call, and a test must not measure the machine.)
    mid = (t0 + t1) / 2
    assert len(inside) > 1000, (len(inside), t1 - t0)
    assert any(t < mid for t in inside) and any(t > mid for t in inside), (inside[0] - t0, t1 - inside[-1], t1 - t0)


def test_second_thread_scans_while_first_is_inside_the_library(
        ruleset: ctrule.Ruleset, big: bytes, ndjson_bytes: bytes,
        expected: list[tuple[int, str]]) -> None:
    """Thread A scans the big input in one C call; meanwhile the main thread
    runs a whole scan with the same ruleset and finishes first. With the GIL
    held by A's call, the main thread could not even wake up before A ended."""
    entering = threading.Event()
    span: list[float] = []

    def worker() -> None:
        sc = ruleset.scanner()
        entering.set()
        sc.feed(big)
        span.append(time.perf_counter())
        sc.finish()

    th = threading.Thread(target=worker)
    th.start()
    entering.wait()
    time.sleep(0.05)  # A is now inside ctr_scanner_feed (it takes ~0.4 s)
    alerts = list(ruleset.scan(ndjson_bytes))
    done = time.perf_counter()
    th.join()
    assert keys(alerts) == expected
    assert done < span[0], "the second scan had to wait for the first one"


def test_threads_with_callbacks_get_identical_results(ruleset: ctrule.Ruleset,
                                                      ndjson_bytes: bytes, gz_path: Path,
                                                      expected: list[tuple[int, str]]) -> None:
    def run(i: int) -> list[tuple[int, str]]:
        if i % 2:
            return keys(list(ruleset.scan(gz_path, chunk_size=1 + 7919 * i)))
        got: list[Alert] = []
        with ruleset.scanner(got.append) as sc:
            for start in range(0, len(ndjson_bytes), 10007 + i):
                sc.feed(ndjson_bytes[start:start + 10007 + i])
            sc.finish()
        return keys(got)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(16)))
    assert all(r == expected for r in results)


def test_scanners_outlive_a_closed_ruleset(rules_path: Path, ndjson_bytes: bytes,
                                           expected: list[tuple[int, str]]) -> None:
    rs = ctrule.load(rules_path, builtins=())
    scanners = [rs.scanner() for _ in range(4)]
    rs.close()
    with pytest.raises(ValueError, match="closed"):
        rs.scanner()
    with ThreadPoolExecutor(4) as pool:
        stats = list(pool.map(lambda sc: (sc.scan(ndjson_bytes), sc.stats)[1], scanners))
    assert all(s.matches == len(expected) for s in stats)


def test_one_scanner_two_threads_is_refused(ruleset: ctrule.Ruleset, big: bytes) -> None:
    sc = ruleset.scanner()
    errors: list[BaseException] = []
    started = threading.Event()

    def feeder() -> None:
        started.set()
        while True:  # until it gets the scanner (the main thread may hold it)
            try:
                sc.feed(big)
                return
            except ctrule.CtruleError:
                continue

    th = threading.Thread(target=feeder)
    th.start()
    started.wait()
    deadline = time.monotonic() + 5
    while th.is_alive() and time.monotonic() < deadline:
        try:
            sc.feed(b"")
        except ctrule.CtruleError as e:
            errors.append(e)
            break
    th.join()
    assert errors and isinstance(errors[0], ctrule.CtruleError)
    assert errors[0].status == ctrule.Status.EBUSY
