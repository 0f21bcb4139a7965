"""What an Alert adds to a Python scan, in one process (the Python side of
tests/bench/go/alertcost; two processes differ by a few percent with their
layout alone): the same scan with no callback (the library counts the
matches, as ctrule-bench's C figure does) and with a callback given every
Alert, as tests/bench/bench.py (run.sh's Python figure) does, taking turns.

    python bindings/python/bench/alertcost.py CORPUS.ndjson RULES.yaml [--rounds 4] [--read]

Rules: the built-in RDS rules plus RULES.yaml. The corpus is fed in 1 MiB
slices; each round runs each side once untimed and three times timed (CPU
time of the process), and the best run of each side is printed, with their
ratio and what an alert costs beyond the scan. --read makes the callback read
every attribute of every Alert and its to_json(), as a program printing each
alert would.
"""
from __future__ import annotations

import argparse
import time
from typing import Dict

import ctrule

CHUNK = 1 << 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("rules")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--read", action="store_true", help="read every attribute of every Alert")
    args = ap.parse_args()
    with open(args.corpus, "rb") as f:
        view = memoryview(f.read())
    rules = ctrule.load(args.rules, builtins=["rds"])

    def on_match(a: ctrule.Alert) -> None:
        pass

    def on_match_read(a: ctrule.Alert) -> None:
        a.rule, a.priority, a.tags, a.output, a.fields, a.raw, a.time_ns, a.to_json()

    callbacks = {"no callback": None, "every Alert": on_match_read if args.read else on_match}
    best: Dict[str, float] = {}
    matches = 0
    for _ in range(args.rounds):
        for name, cb in callbacks.items():
            for k in range(4):
                start = time.process_time()
                with rules.scanner(cb) as sc:
                    for at in range(0, len(view), CHUNK):
                        sc.feed(view[at:at + CHUNK])
                    sc.finish()
                    matches = sc.stats.matches
                t = time.process_time() - start
                if k:  # the first run of each turn warms the scanner up
                    best[name] = min(best.get(name, t), t)
    base, alerts = best["no callback"], best["every Alert"]
    read = ", every attribute read" if args.read else ""
    print(f"{matches} alerts{read}: no callback {base * 1e3:.1f} ms, every Alert {alerts * 1e3:.1f} ms: "
          f"{base / alerts:.3f}x, +{(alerts - base) / max(matches, 1) * 1e6:.2f} us per alert")


if __name__ == "__main__":
    main()
