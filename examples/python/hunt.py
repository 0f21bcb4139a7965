#!/usr/bin/env python3
"""Hunt through a local tree of CloudTrail archives with ctrule, in parallel.

    python3 hunt.py [options] PATH...

Every PATH is a file or a directory searched recursively for CloudTrail
files (*.json, *.json.gz, *.ndjson, *.ndjson.gz, *.jsonl: S3 log files,
NDJSON exports, EventBridge or CloudWatch Logs captures; gzip is recognised
by the library itself). Files are scanned in worker processes, each holding
one compiled ruleset, and a summary is printed: alerts by priority, by rule,
by account and region, the top principals, the most severe alerts, and the
files that had problems.

Examples:
    python3 hunt.py ~/cloudtrail/AWSLogs
    python3 hunt.py -r my_rules.yaml --no-builtin --min-priority warning -j 8 logs/
    python3 hunt.py --json logs/ > alerts.ndjson      # alerts as Falco JSON lines

Exit status: 0 when every file was scanned, 1 when some file could not be
read or scanned (or held no CloudTrail record), 2 on a usage or rules error,
74 when the output could not be written.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import dataclasses
import os
import sys
import time
import warnings
from typing import Iterable, Iterator, Optional

import ctrule

SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
EXIT_OUTPUT = 74  # stdout could not be written (as the ctrule CLI)


@dataclasses.dataclass
class FileResult:
    """What one worker found in one file."""

    path: str
    stats: ctrule.Stats
    alerts: list[ctrule.Alert]
    error_count: int
    first_errors: list[str]
    failure: Optional[str] = None


_ruleset: Optional[ctrule.Ruleset] = None


def _init_worker(rule_files: list[str], builtins: list[str], tags: list[str],
                 min_priority: Optional[str]) -> None:
    """Compiles the ruleset once per worker process."""
    global _ruleset
    _ruleset = ctrule.load(*rule_files, builtins=builtins, tags=tags, min_priority=min_priority)


def scan_file(path: str) -> FileResult:
    """Scans one file (in a worker) and returns its alerts and problems."""
    assert _ruleset is not None
    alerts: list[ctrule.Alert] = []
    failure = None
    scan = _ruleset.scan(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ctrule.EmptyInputWarning)  # an empty file: nothing to say
            for alert in scan:
                alerts.append(alert)
    except (ctrule.StreamError, ctrule.NoRecordsError, OSError) as exc:
        failure = str(exc)
    return FileResult(path, scan.stats, alerts, len(scan.errors),
                      [e.text for e in scan.errors[:3]], failure)


def find_files(paths: Iterable[str]) -> Iterator[str]:
    """Files named on the command line, and CloudTrail files under directories."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(SUFFIXES):
                        yield os.path.join(root, name)
        else:
            yield path


def principal(alert: ctrule.Alert) -> str:
    ident = alert.event.get("userIdentity") or {}
    return str(ident.get("arn") or alert.fields.get("ct.user") or ident.get("type") or "?")


def account(alert: ctrule.Alert) -> str:
    ident = alert.event.get("userIdentity") or {}
    return str(alert.event.get("recipientAccountId") or ident.get("accountId") or "?")


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def summarize(results: list[FileResult], rules: ctrule.Ruleset, jobs: int, elapsed: float,
              show: int, out: "object") -> None:
    def say(line: str = "") -> None:
        print(line, file=out)  # type: ignore[call-overload]

    stats = sum((r.stats for r in results), ctrule.Stats())
    alerts = [a for r in results for a in r.alerts]
    say(f"Scanned {len(results)} files ({human_bytes(stats.bytes)}, {stats.records:,} records) "
        f"in {elapsed:.2f} s with {rules.enabled_count} rules and {jobs} workers")
    say(f"Alerts: {len(alerts):,}")
    if alerts:
        by_priority = collections.Counter(a.priority for a in alerts)
        say("  by priority: " + ", ".join(f"{p.label} {by_priority[p]}"
                                          for p in sorted(by_priority)))
        say("  by rule:")
        for rule, n in collections.Counter(a.rule for a in alerts).most_common():
            say(f"    {n:7,}  {rule}")
        say("  by account / region:")
        where = collections.Counter((account(a), str(a.event.get("awsRegion", "?")))
                                    for a in alerts)
        for (acct, region), n in where.most_common(10):
            say(f"    {n:7,}  {acct} / {region}")
        say("  top principals:")
        for who, n in collections.Counter(principal(a) for a in alerts).most_common(5):
            say(f"    {n:7,}  {who}")
        say(f"  most severe (up to {show}):")
        ordered = sorted(alerts, key=lambda a: (a.priority, -a.time_ns))
        for a in ordered[:show]:
            when = a.time.strftime("%Y-%m-%d %H:%M:%S") if a.time else "????-??-?? ??:??:??"
            say(f"    {when}  {a.priority.label:<13} {a.rule}: {a.output.strip()}")
    problems = [r for r in results if r.failure or r.error_count]
    if problems:
        say(f"Files with problems: {len(problems)}")
        for r in problems:
            what = r.failure or f"{r.error_count} bad or incomplete records"
            say(f"  {r.path}: {what}")
            for text in r.first_errors:
                say(f"      {text}")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to hunt through")
    ap.add_argument("-r", "--rules", action="append", default=[], metavar="FILE",
                    help="add a rules file (repeatable)")
    ap.add_argument("--no-builtin", action="store_true", help="do not load the built-in RDS rules")
    ap.add_argument("-t", "--tag", action="append", default=[],
                    help="only rules with this tag (repeatable)")
    ap.add_argument("--min-priority", help="skip rules less severe than this (e.g. warning)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (default: one per CPU)")
    ap.add_argument("--json", action="store_true",
                    help="print every alert as a Falco JSON line on stdout, the summary on stderr")
    ap.add_argument("--show", type=int, default=10, help="how many alerts the summary lists")
    args = ap.parse_args(argv)

    builtins = [] if args.no_builtin else ["rds"]
    try:  # compile once here too: rule errors are reported before any work starts
        rules = ctrule.load(*args.rules, builtins=builtins, tags=args.tag,
                            min_priority=args.min_priority)
    except ctrule.RulesError as exc:
        print(f"hunt: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"hunt: {exc}", file=sys.stderr)
        return 2

    files = list(find_files(args.paths))
    jobs = max(1, min(args.jobs, len(files) or 1))
    t0 = time.perf_counter()
    results: list[FileResult] = []
    try:
        with cf.ProcessPoolExecutor(jobs, initializer=_init_worker,
                                    initargs=(args.rules, builtins, args.tag,
                                              args.min_priority)) as pool:
            for result in pool.map(scan_file, files):
                results.append(result)
                if args.json:
                    for alert in result.alerts:
                        print(alert.to_json())
        elapsed = time.perf_counter() - t0
        summarize(results, rules, jobs, elapsed, args.show, sys.stderr if args.json else sys.stdout)
        sys.stdout.flush()
    except OSError as exc:  # stdout: a full disk, a closed pipe; never lost in silence
        if exc.filename is not None:
            raise
        print(f"hunt: cannot write to standard output: {exc.strerror or exc}", file=sys.stderr)
        # Python flushes stdout again at exit: point it somewhere that works.
        sys.stdout = open(os.devnull, "w")
        return EXIT_OUTPUT
    return 1 if any(r.failure for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
