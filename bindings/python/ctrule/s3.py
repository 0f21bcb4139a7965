"""Hunting where CloudTrail logs live: ``s3://`` sources, in parallel.

CloudTrail delivers to ``s3://BUCKET/[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``.
:func:`list_objects` lists only the day prefixes of that layout that fall in
a time range (and the accounts and regions asked for), never the whole
bucket; :func:`scan_objects` streams each object through a scanner (no
temporary file) on a pool of threads: the library releases the GIL while it
scans, so downloads overlap scanning and every core works. ::

    rules = ctrule.builtin("rds")
    for alert in rules.scan("s3://my-trail/AWSLogs/", since="2024-05-01", until="2024-05-31",
                            accounts=["111122223333"], regions=["eu-west-1"]):
        print(alert.rule, alert.output)

Needs boto3 (``pip install ctrule[s3]``). Credentials, region and endpoint
come from boto3's standard chain (profiles, roles, ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as _dt
import re
import threading
from typing import Any, Generator, Iterable, Iterator, List, Optional, Sequence, Union

from ._engine import DEFAULT_CHUNK_SIZE, Ruleset
from ._errors import NoRecordsError, StreamError
from ._model import Alert, RecordError, Stats
from ._parallel import scan_files

__all__ = ["S3Object", "Failure", "ObjectResult", "S3Scan", "Progress", "parse_url",
           "time_window", "in_window", "list_objects", "scan_objects", "scan", "client",
           "error_kind", "DELIVERY_DELAY"]

#: How long after an event CloudTrail may deliver its file: the file lies
#: under its delivery day, so the day after ``until`` is listed too when
#: ``until`` is this close to midnight (AWS: "within about 5 minutes on
#: average, not guaranteed"). Alerts outside [since, until] are dropped.
DELIVERY_DELAY = _dt.timedelta(hours=1)

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$")
_SUFFIXES = (".json", ".json.gz", ".gz", ".ndjson", ".jsonl")

Local = str
Item = Union["S3Object", Local]


@dataclasses.dataclass(frozen=True)
class S3Object:
    """One object to scan, with where the layout says it comes from."""

    bucket: str
    key: str
    size: int = 0
    account: str = "?"
    region: str = "?"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def __str__(self) -> str:
        return self.url


@dataclasses.dataclass(frozen=True)
class Failure:
    """An object (or a prefix that could not be listed) that was not scanned
    to its end. ``kind``: ``denied``, ``missing``, ``corrupt`` (a stream that
    cannot be read: bad gzip, cut short), ``not-cloudtrail`` (values but no
    CloudTrail record), ``error`` (network, anything else)."""

    where: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}"


@dataclasses.dataclass
class ObjectResult:
    """What scanning one object found."""

    item: Item
    stats: Stats
    alerts: List[Alert]
    errors: List[RecordError]
    failure: Optional[Failure] = None


class Progress:
    """Counters shared by the scanning threads (read them from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.objects = 0
        self.records = 0

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def add_object(self, records: int) -> None:
        with self._lock:
            self.objects += 1
            self.records += records


# ------------------------------------------------------------------ time and URLs


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def _instant(value: Any, end: bool) -> Optional[_dt.datetime]:
    """A since/until value as an aware UTC datetime; a bare date means the
    start of that day (since) or its last instant (until)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (_dt.date.fromisoformat(text) if len(text) == 10
                     else _dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise ValueError(f"not a date or ISO 8601 time: {value!r} "
                             "(e.g. 2024-05-01 or 2024-05-01T12:00:00Z)") from None
    if isinstance(value, _dt.datetime):
        return (value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None
                else value.astimezone(_dt.timezone.utc))
    if isinstance(value, _dt.date):
        start = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
        return start + _dt.timedelta(days=1, microseconds=-1) if end else start
    raise TypeError(f"since/until must be a date, a datetime or an ISO string, not "
                    f"{type(value).__name__}")


def time_window(since: Any, until: Any) -> tuple[Optional[_dt.datetime], _dt.datetime]:
    """(since, until) as aware UTC datetimes; until defaults to now."""
    lo = _instant(since, end=False)
    hi = _instant(until, end=True) or _dt.datetime.now(_dt.timezone.utc)
    if lo is not None and lo > hi:
        raise ValueError(f"since ({lo:%Y-%m-%dT%H:%M:%SZ}) is after until ({hi:%Y-%m-%dT%H:%M:%SZ})")
    return lo, hi


def _days(lo: _dt.datetime, hi: _dt.datetime) -> List[_dt.date]:
    first, last = lo.date(), (hi + DELIVERY_DELAY).date()
    return [first + _dt.timedelta(days=i) for i in range((last - first).days + 1)]


_DELIVERED = re.compile(r"_(\d{8}T\d{4})Z_")


def _delivered_in(name: str, lo: _dt.datetime, hi: _dt.datetime) -> bool:
    """Whether a log file delivered at the time its name carries
    (ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_...) may hold events of
    [lo, hi]: not before lo, not after hi + DELIVERY_DELAY. Names without
    that time are kept."""
    m = _DELIVERED.search(name)
    if m is None:
        return True
    try:
        t = _dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return True
    return lo - _dt.timedelta(minutes=1) < t <= hi + DELIVERY_DELAY


def in_window(alert: Alert, lo: Optional[_dt.datetime], hi: Optional[_dt.datetime]) -> bool:
    """Whether an alert's eventTime lies in [lo, hi] (no eventTime: kept)."""
    if not alert.time_ns:
        return True
    t = alert.time
    return (lo is None or t >= lo) and (hi is None or t <= hi)  # type: ignore[operator]


# ------------------------------------------------------------------ listing


def client(threads: int = 8) -> Any:
    """An S3 client from boto3's standard chain, with a connection per thread."""
    try:
        import boto3  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise ImportError("s3:// sources need boto3: pip install 'ctrule[s3]'") from None
    return boto3.client("s3", config=Config(max_pool_connections=max(10, threads + 2),
                                            retries={"mode": "standard"}))


def error_kind(exc: BaseException) -> str:
    """denied, missing or error, from a boto3 ClientError."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "error"
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidObjectState") or status == 403:
        return "denied"
    if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound") or status == 404:
        return "missing"
    return "error"


def _folders(s3: Any, bucket: str, prefix: str) -> List[str]:
    """The next path segments under prefix (one level, without the slash)."""
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix,
                                                           Delimiter="/"):
        for cp in page.get("CommonPrefixes", []):
            names.append(cp["Prefix"][len(prefix):].rstrip("/"))
    return names


@dataclasses.dataclass
class _Layout:
    """What the URL's prefix fixes of AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD."""

    root: str  # up to and including "AWSLogs/"
    org: Optional[str] = None
    account: Optional[str] = None
    region: Optional[str] = None
    date: tuple[int, ...] = ()


def _layout(s3: Any, bucket: str, prefix: str) -> _Layout:
    parts = [p for p in prefix.split("/") if p]
    if "AWSLogs" not in parts:
        base = "/".join(parts) + "/" if parts else ""
        if "AWSLogs" in _folders(s3, bucket, base):
            return _Layout(base + "AWSLogs/")
        raise ValueError(f"s3://{bucket}/{prefix}: no AWSLogs/ folder here: give the trail's "
                         f"bucket and key prefix (s3://{bucket}/PREFIX/AWSLogs/...)")
    i = parts.index("AWSLogs")
    lay = _Layout("".join(p + "/" for p in parts[:i + 1]))
    rest = parts[i + 1:]
    if rest and _ORG.match(rest[0]):
        lay.org = rest.pop(0)
    fields = ["account", "service", "region", "year", "month", "day"]
    for name, value in zip(fields, rest):
        if name == "account" and not _ACCOUNT.match(value):
            raise ValueError(f"s3://{bucket}/{prefix}: {value!r} is not an account id (12 digits)")
        if name == "service" and value != "CloudTrail":
            raise ValueError(f"s3://{bucket}/{prefix}: only the CloudTrail/ folder holds "
                             f"event logs, not {value}/")
        if name in ("year", "month", "day"):
            if not value.isdigit():
                raise ValueError(f"s3://{bucket}/{prefix}: {value!r} is not a {name}")
            lay.date += (int(value),)
        elif name != "service":
            setattr(lay, name, value)
    if len(rest) > len(fields):
        raise ValueError(f"s3://{bucket}/{prefix}: deeper than a day of the CloudTrail layout: "
                         "name the object itself or a day prefix")
    return lay


def _check_filters(accounts: Optional[Iterable[str]], regions: Optional[Iterable[str]]
                   ) -> tuple[Optional[set[str]], Optional[set[str]]]:
    acc = None if accounts is None else {str(a) for a in accounts}
    reg = None if regions is None else {str(r) for r in regions}
    for a in acc or ():
        if not _ACCOUNT.match(a):
            raise ValueError(f"not an AWS account id (12 digits): {a!r}")
    for r in reg or ():
        if not _REGION.match(r):
            raise ValueError(f"not an AWS region name: {r!r}")
    return acc, reg


def _day_prefixes(s3: Any, bucket: str, lay: _Layout, days: Sequence[_dt.date],
                  accounts: Optional[set[str]], regions: Optional[set[str]],
                  failures: List[Failure]) -> List[tuple[str, str, str]]:
    """(day prefix, account, region) for every day, account and region."""
    def listed(prefix: str) -> List[str]:
        try:
            return _folders(s3, bucket, prefix)
        except Exception as exc:  # noqa: BLE001 - any listing failure is reported and counted
            failures.append(Failure(f"s3://{bucket}/{prefix}", error_kind(exc), str(exc)))
            return []

    if lay.org:
        owners = [lay.root + lay.org + "/"]
    else:  # an organization trail's accounts sit one level down, under o-ORG/
        top = listed(lay.root)
        owners = [lay.root] + [lay.root + n + "/" for n in top if _ORG.match(n)]
    out = []
    for owner in owners:
        if lay.account:
            accts = [lay.account]
        else:
            accts = sorted(n for n in listed(owner) if _ACCOUNT.match(n))
        for acct in accts:
            if accounts is not None and acct not in accounts:
                continue
            base = f"{owner}{acct}/CloudTrail/"
            if lay.region:
                regs = [lay.region]
            elif regions is not None:
                regs = sorted(regions)  # no need to list what is named
            else:
                regs = sorted(n for n in listed(base) if _REGION.match(n))
            for reg in regs:
                if regions is not None and reg not in regions:
                    continue
                for day in days:
                    out.append((f"{base}{reg}/{day:%Y/%m/%d}/", acct, reg))
    return out


def _date_bounds(date: tuple[int, ...]) -> tuple[_dt.datetime, _dt.datetime]:
    y = date[0]
    if len(date) == 1:
        lo, hi = _dt.date(y, 1, 1), _dt.date(y, 12, 31)
    elif len(date) == 2:
        lo = _dt.date(y, date[1], 1)
        hi = (lo.replace(day=28) + _dt.timedelta(days=4)).replace(day=1) - _dt.timedelta(days=1)
    else:
        lo = hi = _dt.date(y, date[1], date[2])
    return _instant(lo, False), _instant(hi, True)  # type: ignore[return-value]


def list_objects(url: str, *, since: Any = None, until: Any = None,
                 accounts: Optional[Iterable[str]] = None, regions: Optional[Iterable[str]] = None,
                 s3: Any = None, threads: int = 8,
                 failures: Optional[List[Failure]] = None) -> List[S3Object]:
    """The CloudTrail objects under ``url`` delivered in [since, until] (and
    the hour after until), for the accounts and regions asked for (None: all).

    Only the day prefixes of the layout are listed (in parallel), and of
    their objects those whose name says they were delivered from ``since``
    to ``DELIVERY_DELAY`` after ``until`` (a file holds the events of the
    minutes before its delivery). A URL naming
    one object (``.json.gz``, ``.json``) is that object. ``since`` is required
    unless the URL itself names a year, month or day. Prefixes that cannot be
    listed are appended to ``failures`` (raised as the first error when
    ``failures`` is None and nothing could be listed).
    """
    s3 = s3 or client(threads)
    bucket, prefix = parse_url(url)
    acc, reg = _check_filters(accounts, regions)
    if prefix.endswith(_SUFFIXES):
        head = s3.head_object(Bucket=bucket, Key=prefix)
        return [S3Object(bucket, prefix, int(head.get("ContentLength", 0)))]
    lay = _layout(s3, bucket, prefix)
    lo, hi = time_window(since, until)
    if lay.date:
        dlo, dhi = _date_bounds(lay.date)
        lo, hi = max(lo or dlo, dlo), min(hi, dhi)
    elif lo is None:
        raise ValueError("give since= (or a day in the URL): a hunt lists the day prefixes "
                         "of a time range, never a whole bucket")
    days = _days(lo, hi) if lo <= hi else []
    if lay.date:  # the URL's own day bounds the delay slack too
        days = [d for d in days if (d.year, d.month, d.day)[:len(lay.date)] == lay.date]
    errs: List[Failure] = [] if failures is None else failures
    prefixes = _day_prefixes(s3, bucket, lay, days, acc, reg, errs)

    def one_day(entry: tuple[str, str, str]) -> List[S3Object]:
        pfx, acct, region = entry
        found = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=pfx):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    name = key.rsplit("/", 1)[-1]
                    if not name or "_CloudTrail-Digest_" in name:
                        continue  # folder markers; digests carry no event
                    if not _delivered_in(name, lo, hi):
                        continue
                    found.append(S3Object(bucket, key, int(obj.get("Size", 0)), acct, region))
        except Exception as exc:  # noqa: BLE001 - reported and counted, the hunt goes on
            errs.append(Failure(f"s3://{bucket}/{pfx}", error_kind(exc), str(exc)))
        return found

    with cf.ThreadPoolExecutor(max(1, threads)) as pool:
        objects = [o for day in pool.map(one_day, prefixes) for o in day]
    if failures is None and errs and not objects:
        raise OSError(str(errs[0]))
    return objects


# ------------------------------------------------------------------ scanning


def _os_error(exc: BaseException, where: str) -> OSError:
    """A boto3 error as the OSError scan_files reports: denied and missing
    keep their kind (PermissionError, FileNotFoundError)."""
    cls = {"denied": PermissionError, "missing": FileNotFoundError}.get(error_kind(exc), OSError)
    return cls(f"{where}: {exc}")


def _transient(exc: BaseException) -> bool:
    """A network failure after which reading on from the same offset is worth a try."""
    try:
        from botocore.exceptions import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            ConnectionError as BotoConnectionError, IncompleteReadError, ReadTimeoutError,
            ResponseStreamingError)
        from urllib3.exceptions import ProtocolError
    except ImportError:
        return False
    return isinstance(exc, (BotoConnectionError, IncompleteReadError, ReadTimeoutError,
                            ResponseStreamingError, ProtocolError))


def _s3_chunks(s3: Any, obj: S3Object, chunk_size: int, progress: Optional[Progress],
               stop: threading.Event, attempts: int = 3) -> Iterator[bytes]:
    """An object's bytes, streamed. A connection lost mid-stream is resumed
    from the byte reached (a Range request on the same ETag), up to
    ``attempts`` times; S3 errors become OSErrors (see :func:`_os_error`)."""
    offset, etag = 0, None
    for attempt in range(attempts):
        try:
            extra = {"Range": f"bytes={offset}-", "IfMatch": etag} if offset else {}
            resp = s3.get_object(Bucket=obj.bucket, Key=obj.key, **extra)
            etag = etag or resp.get("ETag")
            body = resp["Body"]
            try:
                for chunk in body.iter_chunks(chunk_size):
                    if stop.is_set():
                        raise InterruptedError(f"{obj}: stopped")
                    offset += len(chunk)
                    if progress is not None:
                        progress.add_bytes(len(chunk))
                    yield chunk
                return
            finally:
                body.close()
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore's errors are not OSErrors
            if _transient(exc) and attempt + 1 < attempts:
                continue
            raise _os_error(exc, str(obj)) from exc


def _local_chunks(path: str, chunk_size: int, progress: Optional[Progress],
                  stop: threading.Event) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            if stop.is_set():
                raise InterruptedError(f"{path}: stopped")
            if progress is not None:
                progress.add_bytes(len(chunk))
            yield chunk


def _failure(where: str, exc: BaseException) -> Failure:
    kind = ("corrupt" if isinstance(exc, StreamError) else
            "not-cloudtrail" if isinstance(exc, NoRecordsError) else
            "denied" if isinstance(exc, PermissionError) else
            "missing" if isinstance(exc, FileNotFoundError) else "error")
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return Failure(where, kind, text.removeprefix(where + ": "))


def scan_objects(ruleset: Ruleset, items: Iterable[Item], *, threads: int = 8, s3: Any = None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE,
                 window: tuple[Optional[_dt.datetime], Optional[_dt.datetime]] = (None, None),
                 progress: Optional[Progress] = None, **options: Any
                 ) -> Generator[ObjectResult, None, None]:
    """Scans S3 objects and local files with :func:`ctrule.scan_files` on
    ``threads`` threads (objects are streamed in the scanning thread, so
    with more threads than cores downloads overlap scanning), yielding an
    :class:`ObjectResult` per item in order. A denied, missing or corrupt
    object is a result with a :class:`Failure`, never an exception. Closing
    the iterator stops the threads at their next chunk."""
    todo = list(items)
    if s3 is None and any(isinstance(i, S3Object) for i in todo):
        s3 = client(threads)
    stop = threading.Event()
    sources = [_s3_chunks(s3, i, chunk_size, progress, stop) if isinstance(i, S3Object)
               else _local_chunks(i, chunk_size, progress, stop) for i in todo]
    lo, hi = window
    try:
        for item, res in zip(todo, scan_files(ruleset, sources, threads=threads,
                                              chunk_size=chunk_size, **options)):
            if progress is not None:
                progress.add_object(res.stats.records)
            alerts = res.alerts if lo is None and hi is None else [
                a for a in res.alerts if in_window(a, lo, hi)]
            failure = None if res.error is None else _failure(str(item), res.error)
            yield ObjectResult(item, res.stats, alerts, res.errors, failure)
    finally:
        stop.set()


class S3Scan(Iterator[Alert]):
    """What ``Ruleset.scan("s3://...")`` returns: yields the alerts of every
    object listed (object by object, in completion order), scanning on
    ``threads`` threads. After the iteration, :attr:`stats` adds up every
    object's counters, :attr:`errors` holds the bad records, and
    :attr:`failures` the objects (or prefixes) denied, missing, corrupt or
    not CloudTrail: they do not stop the hunt."""

    def __init__(self, ruleset: Ruleset, url: str, *, since: Any = None, until: Any = None,
                 accounts: Optional[Iterable[str]] = None, regions: Optional[Iterable[str]] = None,
                 threads: int = 8, s3: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 **options: Any) -> None:
        if "on_match" in options:
            raise TypeError("Ruleset.scan() takes no on_match: iterate over it instead")
        self.stats = Stats()
        self.errors: List[RecordError] = []
        self.failures: List[Failure] = []
        self.objects: List[S3Object] = []
        s3 = s3 or client(threads)
        window = time_window(since, until)
        self.objects = list_objects(url, since=since, until=until, accounts=accounts,
                                    regions=regions, s3=s3, threads=threads, failures=self.failures)
        self._results: Generator[ObjectResult, None, None] = scan_objects(ruleset, self.objects, threads=threads, s3=s3,
                                     chunk_size=chunk_size, window=window, **options)
        self._gen = self._run()

    def _run(self) -> Generator[Alert, None, None]:
        for result in self._results:
            self.stats += result.stats
            self.errors.extend(result.errors)
            if result.failure is not None:
                self.failures.append(result.failure)
            yield from result.alerts

    def __iter__(self) -> S3Scan:
        return self

    def __next__(self) -> Alert:
        return next(self._gen)

    def close(self) -> None:
        """Stops the hunt (the threads stop at their next chunk)."""
        self._gen.close()
        self._results.close()

    def __enter__(self) -> S3Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def scan(ruleset: Ruleset, url: str, **options: Any) -> S3Scan:
    """``ruleset.scan(url, ...)`` for an ``s3://`` URL: see :class:`S3Scan`."""
    return S3Scan(ruleset, url, **options)

