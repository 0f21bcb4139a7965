"""No leaks: loading, scanning and freeing in a loop keeps the resident set flat."""

from __future__ import annotations

import gc
import gzip
import os
import sys
from pathlib import Path

import pytest

import ctrule
from ctrule import Alert

from conftest import Record


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Boom(Exception):
    pass


def raise_boom(alert: Alert) -> None:
    raise Boom()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_load_scan_free_loop_keeps_rss_flat(rules_path: Path, records: list[Record]) -> None:
    data = b"\n".join(r.raw for r in records[:400]) + b"\n"
    gz = gzip.compress(data)
    bad_rules = "- rule: x\n  desc: d\n  condition: ct.nosuchfield = 1\n  output: o\n  priority: info\n"

    def cycle() -> int:
        n = 0
        rs = ctrule.load(rules_path, builtins=["rds"])
        alerts: list[Alert] = []
        with rs.scanner(alerts.append) as sc:          # callback path
            sc.scan(data, chunk_size=4096)
        n += len(alerts)
        for a in alerts:                              # lazily parsed events
            n += len(a.event) > 0
        n += sum(1 for _ in rs.scan(gz))              # iterator over gzip
        n += rs.count(data).matches                   # callback-free path
        sc2 = rs.scanner(lambda a: True)              # stop
        sc2.feed(data)
        sc3 = rs.scanner(raise_boom)                  # raise
        try:
            sc3.feed(data)
        except Boom:
            pass
        try:                                          # strict + bad record
            list(rs.scan(data[:1000] + b"\n{bad}\n", strict=True))
        except ctrule.BadRecordError:
            pass
        try:                                          # rule errors
            ctrule.loads(bad_rules)
        except ctrule.RulesError:
            pass
        rs.close()
        return n

    for _ in range(20):  # warm up allocator caches and interned strings
        expect = cycle()
    gc.collect()
    before = rss_bytes()
    for _ in range(150):
        assert cycle() == expect
    gc.collect()
    grown = rss_bytes() - before
    # Each cycle allocates several MB; a leak of even 8 KiB per cycle shows.
    assert grown < 1_200_000, f"RSS grew by {grown} bytes over 150 cycles"
