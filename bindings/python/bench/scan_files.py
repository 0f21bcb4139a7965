"""Two cores against one on 2,000 small log files (issue 18, "cores"):
``ctrule.scan_files`` with 1 and 2 threads, ``Scanner.scan`` of each path on
1 and 2 threads of one's own, and optionally ``ctrule scan -j 1`` / ``-j 2``,
taking turns, with wall and CPU time of every run.

    python bindings/python/bench/scan_files.py [--cli build/examples/cli/ctrule] [--rounds 6] [--priority]

The files are those of the Go binding's BenchmarkScanFiles: 2,000 gzip files
of 100 of the shared real records each (../shared/data/cloudtrail/records.ndjson),
written to a temporary directory. On a machine shared with other work, wall
time measures the neighbours too: ``--priority`` runs the measurement in a
session of its own at autogroup nice -20 (root only), so that its threads get
the cores whenever they can run; the CPU times need no such thing. The best
run of each side is compared; nothing fails on a figure.
"""
from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import ctrule

REPO = Path(__file__).resolve().parents[3]
RECORDS = REPO.parent / "shared" / "data" / "cloudtrail" / "records.ndjson"


def write_files(d: Path) -> List[str]:
    lines = [x for x in RECORDS.read_bytes().splitlines(keepends=True) if x.strip()]
    paths = []
    for i in range(2000):
        p = d / f"{i:04d}.json.gz"
        p.write_bytes(gzip.compress(b"".join(lines[(i * 100 + j) % len(lines)] for j in range(100)), mtime=0))
        paths.append(str(p))
    return paths


def timed(fn: Callable[[], None], children: bool = False) -> Tuple[float, float, int, int]:
    """wall and CPU time, voluntary and involuntary context switches of a run."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    r0, t0 = resource.getrusage(who), time.perf_counter()
    fn()
    wall, r1 = time.perf_counter() - t0, resource.getrusage(who)
    return (wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", help="the ctrule CLI, to measure scan -j 1 and -j 2 too")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--priority", action="store_true", help="own session at autogroup nice -20 (root)")
    args = ap.parse_args()
    if args.priority and os.environ.get("CTRULE_BENCH_PRIORITY") != "1":
        os.environ["CTRULE_BENCH_PRIORITY"] = "1"
        argv = [sys.executable, *sys.argv]
        cmd = f"echo -20 > /proc/self/autogroup && exec nice -n -20 \"$@\""
        return subprocess.call(["setsid", "sh", "-c", cmd, "sh", *argv])
    rules = ctrule.builtin()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp))

        def files(n: int) -> Callable[[], None]:
            def run() -> None:
                for _ in ctrule.scan_files(rules, paths, threads=n):
                    pass
            return run

        def scans(n: int) -> Callable[[], None]:
            def run() -> None:
                def part(ps: List[str]) -> None:
                    with rules.scanner(lambda a: None) as sc:
                        for p in ps:
                            sc.scan(p)
                ts = [threading.Thread(target=part, args=(paths[k::n],)) for k in range(n)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            return run

        cases: Dict[str, Tuple[Callable[[int], Callable[[], None]], bool]] = {
            "ctrule.scan_files(threads=N)": (files, False),
            "Scanner.scan(path) on N threads": (scans, False)}
        if args.cli:
            def cli(n: int) -> Callable[[], None]:
                def run() -> None:
                    subprocess.run([args.cli, "scan", "-q", f"-j{n}", tmp], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return run
            cases[f"ctrule scan -j N ({args.cli})"] = (cli, True)
        print(f"2,000 gzip files of 100 records, {args.rounds} rounds, 1 and 2 taking turns; "
              f"load {os.getloadavg()[0]:.1f}, priority {'high' if args.priority else 'normal'}")
        for name, (make, children) in cases.items():
            make(2)()  # warm-up
            runs: Dict[int, List[Tuple[float, float, int, int]]] = {1: [], 2: []}
            for _ in range(args.rounds):
                for n in (1, 2):
                    runs[n].append(timed(make(n), children))
            (w1, c1, _, _), (w2, c2, _, _) = min(runs[1]), min(runs[2])
            # Context switches: the median run's (voluntary/involuntary).
            v1, i1 = sorted(r[2] for r in runs[1])[args.rounds // 2], sorted(r[3] for r in runs[1])[args.rounds // 2]
            v2, i2 = sorted(r[2] for r in runs[2])[args.rounds // 2], sorted(r[3] for r in runs[2])[args.rounds // 2]
            print(f"{name}: N=1 wall {w1:.3f} s cpu {c1:.3f} s; N=2 wall {w2:.3f} s cpu {c2:.3f} s "
                  f"(best runs); 2 against 1: {w1 / w2:.2f}x wall, {c2 / c1:.2f}x the CPU; "
                  f"context switches per run (median, voluntary/involuntary): N=1 {v1}/{i1}, N=2 {v2}/{i2}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
