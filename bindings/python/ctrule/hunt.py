"""ctrule-hunt: hunt through CloudTrail history, in S3 or on disk, on every core.

    ctrule-hunt [options] (s3://BUCKET[/PREFIX] | PATH)...

An s3:// URL is the trail's bucket (and key prefix, down to AWSLogs/,
o-ORG/, an account, a region or a day): only the day prefixes of the
CloudTrail layout in --since/--until are listed, for the --accounts and
--regions asked for, and every object is streamed through the scanner
(nothing is written to disk). A PATH is a file or a directory searched for
CloudTrail files (*.json, *.json.gz, *.ndjson, *.jsonl). Objects are scanned
on threads (the library releases the GIL; downloads overlap scanning).

Alerts are printed as a table (or Falco JSON lines with --json, the summary
then going to stderr), then a summary: alerts by priority, by rule, by
account -> region -> rule, the top principals, and the objects that could
not be scanned. A progress bar (objects, bytes, records/s, ETA) is drawn on
stderr when it is a terminal.

Examples:
    ctrule-hunt s3://my-trail-bucket --since 2024-05-01 --until 2024-05-31
    ctrule-hunt s3://org-trail/AWSLogs/o-abc123def4/ --since 2024-05-01 \\
                --accounts 111122223333,444455556666 --regions eu-west-1 --json > alerts.ndjson
    ctrule-hunt -r my_rules.yaml --no-builtin ~/cloudtrail/AWSLogs

Credentials, region and endpoint come from boto3's standard chain (profiles,
roles, AWS_ENDPOINT_URL). Exit status: 0 when every object was scanned, 1
when some object or prefix was denied, missing, corrupt or not CloudTrail
(each is reported and counted; the hunt goes on), 2 on a usage or rules
error, 74 when the alerts or the summary could not be written, 130 when
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
import threading
import time
import warnings
from typing import IO, Any, Iterable, Iterator, List, Optional, Sequence

import ctrule

from . import s3 as s3mod
from .s3 import Failure, ObjectResult, Progress, S3Object

SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_OUTPUT = 74  # stdout could not be written (as the ctrule CLI)
EXIT_INTERRUPTED = 130  # SIGINT, as a shell reports it


def find_files(paths: Iterable[str]) -> Iterator[str]:
    """Files named on the command line, and CloudTrail files under directories."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(SUFFIXES) and "_CloudTrail-Digest_" not in name:
                        yield os.path.join(root, name)
        else:
            yield path


def _size(item: Any) -> int:
    if isinstance(item, S3Object):
        return item.size
    try:
        return os.path.getsize(item)
    except OSError:
        return 0


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn twice a second."""

    def __init__(self, progress: Progress, total_objects: int, total_bytes: int,
                 out: IO[str]) -> None:
        self.p, self.objects, self.bytes, self.out = progress, total_objects, total_bytes, out
        self.t0 = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def line(self) -> str:
        dt = max(time.monotonic() - self.t0, 1e-6)
        rate = self.p.bytes / dt
        eta = (self.bytes - self.p.bytes) / rate if rate and self.bytes > self.p.bytes else 0
        return (f"{self.p.objects:,}/{self.objects:,} objects  {human_bytes(self.p.bytes)}"
                f"/{human_bytes(self.bytes)}  {self.p.records / dt:,.0f} records/s  "
                f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")

    def _run(self) -> None:
        while not self._done.wait(0.5):
            self.out.write("\r\x1b[K" + self.line())
            self.out.flush()

    def __enter__(self) -> ProgressBar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.out.write("\r\x1b[K" + self.line() + "\n")  # the last figures stay on screen
        self.out.flush()


def account_of(alert: ctrule.Alert, item: Any) -> str:
    ident = alert.event.get("userIdentity") or {}
    acct = alert.event.get("recipientAccountId") or ident.get("accountId")
    return str(acct or (item.account if isinstance(item, S3Object) else "?"))


def region_of(alert: ctrule.Alert, item: Any) -> str:
    return str(alert.event.get("awsRegion") or (item.region if isinstance(item, S3Object) else "?"))


def principal(alert: ctrule.Alert) -> str:
    ident = alert.event.get("userIdentity") or {}
    return str(ident.get("arn") or alert.fields.get("ct.user") or ident.get("type") or "?")


def table_row(alert: ctrule.Alert, item: Any) -> str:
    when = alert.time.strftime("%Y-%m-%d %H:%M:%S") if alert.time else "????-??-?? ??:??:??"
    return (f"{when}  {alert.priority.label:<13} {account_of(alert, item):<12} "
            f"{region_of(alert, item):<14} {alert.rule}: {alert.output.strip()}")


def _ranked(counts: collections.Counter[str]) -> List[tuple[str, int]]:
    """Most frequent first, ties by name: the same summary whatever order
    the threads finished in."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def summarize(results: List[ObjectResult], failures: List[Failure], rules: ctrule.Ruleset,
              threads: int, elapsed: float, out: IO[str]) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    noun = "objects" if any(isinstance(r.item, S3Object) for r in results) else "files"
    stats = sum((r.stats for r in results), ctrule.Stats())
    pairs = [(a, r.item) for r in results for a in r.alerts]
    say(f"Scanned {len(results)} {noun} ({human_bytes(stats.bytes)}, {stats.records:,} records) "
        f"in {elapsed:.2f} s with {rules.enabled_count} rules and {threads} workers")
    say(f"Alerts: {len(pairs):,}")
    if pairs:
        by_priority = collections.Counter(a.priority for a, _ in pairs)
        say("  by priority: " + ", ".join(f"{p.label} {by_priority[p]}"
                                          for p in sorted(by_priority)))
        say("  by rule:")
        for rule, n in _ranked(collections.Counter(a.rule for a, _ in pairs)):
            say(f"    {n:7,}  {rule}")
        say("  by account / region / rule:")
        tree: dict[str, dict[str, collections.Counter[str]]] = collections.defaultdict(
            lambda: collections.defaultdict(collections.Counter))
        for a, item in pairs:
            tree[account_of(a, item)][region_of(a, item)][a.rule] += 1
        for acct in sorted(tree):
            say(f"    {acct}  {sum(sum(c.values()) for c in tree[acct].values()):,}")
            for region in sorted(tree[acct]):
                rules_here = tree[acct][region]
                say(f"      {region}  {sum(rules_here.values()):,}")
                for rule, n in _ranked(rules_here):
                    say(f"        {n:7,}  {rule}")
        say("  top principals:")
        for who, n in _ranked(collections.Counter(principal(a) for a, _ in pairs))[:5]:
            say(f"    {n:7,}  {who}")
    bad = [r for r in results if r.errors and r.failure is None]
    not_scanned = failures + [r.failure for r in results if r.failure is not None]
    if bad or not_scanned:
        kinds = collections.Counter(f.kind for f in not_scanned)
        say(f"{noun.capitalize()} with problems: {len(bad) + len(not_scanned)}" +
            (" (not scanned: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"
             if not_scanned else ""))
        for f in not_scanned:
            say(f"  {f}")
        for r in bad:
            say(f"  {r.item}: {len(r.errors)} bad or incomplete records")
            for e in r.errors[:3]:
                say(f"      {e.text}")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ctrule-hunt", description=(__doc__ or "").split("\n\n")[0],
                                 epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", metavar="SOURCE",
                    help="s3://BUCKET[/PREFIX] URLs, files or directories")
    ap.add_argument("--since", help="first day or instant (UTC), e.g. 2024-05-01 or 2024-05-01T12:00Z; "
                    "required for s3:// URLs that do not name a day")
    ap.add_argument("--until", help="last day or instant (UTC; default: now)")
    ap.add_argument("--accounts", help="comma-separated account ids (default: every account)")
    ap.add_argument("--regions", help="comma-separated regions (default: every region)")
    ap.add_argument("-r", "--rules", action="append", default=[], metavar="FILE",
                    help="add a rules file (repeatable)")
    ap.add_argument("--no-builtin", action="store_true", help="do not load the built-in RDS rules")
    ap.add_argument("-t", "--tag", action="append", default=[],
                    help="only rules with this tag (repeatable)")
    ap.add_argument("--min-priority", help="skip rules less severe than this (e.g. warning)")
    ap.add_argument("-j", "--jobs", type=int, default=2 * (os.cpu_count() or 1),
                    help="threads (default: two per CPU, so that downloads overlap scanning)")
    ap.add_argument("--json", action="store_true",
                    help="print every alert as a Falco JSON line on stdout, the summary on stderr")
    ap.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                    help="progress bar on stderr (auto: when stderr is a terminal)")
    return ap


def _split(text: Optional[str]) -> Optional[List[str]]:
    return None if text is None else [v.strip() for v in text.split(",") if v.strip()]


def gather(sources: Sequence[str], args: argparse.Namespace, failures: List[Failure],
           s3: Any) -> List[Any]:
    """Every object to scan: s3:// URLs listed by day prefix, local paths walked."""
    items: List[Any] = []
    for src in sources:
        if src.startswith("s3://"):
            try:
                items.extend(s3mod.list_objects(src, since=args.since, until=args.until,
                                                accounts=_split(args.accounts),
                                                regions=_split(args.regions), s3=s3,
                                                threads=args.jobs, failures=failures))
            except (ValueError, TypeError):
                raise  # a usage error: the URL, a date, an account id
            except Exception as exc:  # noqa: BLE001 - no bucket, denied: reported, the hunt goes on
                failures.append(Failure(src, s3mod.error_kind(exc), str(exc)))
        else:
            items.extend(find_files([src]))
    return items


def hunt(args: argparse.Namespace, rules: ctrule.Ruleset) -> int:
    failures: List[Failure] = []
    s3 = s3mod.client(args.jobs) if any(s.startswith("s3://") for s in args.sources) else None
    window = s3mod.time_window(args.since, args.until) if (args.since or args.until) else (None, None)
    t0 = time.perf_counter()
    items = gather(args.sources, args, failures, s3)
    progress = Progress()
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    threads = max(1, min(args.jobs, len(items) or 1))
    results: List[ObjectResult] = []
    bar = ProgressBar(progress, len(items), sum(_size(i) for i in items), sys.stderr)
    with bar if show else contextlib.nullcontext():
        for result in s3mod.scan_objects(rules, items, threads=threads, s3=s3, window=window,
                                         progress=progress):
            results.append(result)
            for alert in result.alerts:
                print(alert.to_json() if args.json else table_row(alert, result.item))
    summarize(results, failures, rules, threads, time.perf_counter() - t0,
              sys.stderr if args.json else sys.stdout)
    sys.stdout.flush()
    return EXIT_PROBLEMS if failures or any(r.failure for r in results) else 0


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        print("ctrule-hunt: -j must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    builtins = [] if args.no_builtin else ["rds"]
    # An empty object is nothing to say in a hunt; one without records is reported.
    warnings.simplefilter("ignore", ctrule.EmptyInputWarning)
    try:
        rules = ctrule.load(*args.rules, builtins=builtins, tags=args.tag,
                            min_priority=args.min_priority)
        return hunt(args, rules)
    except (ctrule.RulesError, ValueError, ImportError) as exc:
        print(f"ctrule-hunt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # the threads stop at their next chunk (scan_objects)
        print("ctrule-hunt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # stdout: a full disk, a closed pipe; never lost in silence
        if exc.filename is not None:
            raise
        print(f"ctrule-hunt: cannot write to standard output: {exc.strerror or exc}",
              file=sys.stderr)
        # Python flushes stdout again at exit: point it somewhere that works.
        sys.stdout = open(os.devnull, "w")
        return EXIT_OUTPUT


if __name__ == "__main__":
    sys.exit(main())
