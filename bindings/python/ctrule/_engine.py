"""The engine objects: Compiler -> Ruleset -> Scanner, and the iterator form."""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import operator
import os
import threading
import warnings
import weakref
from typing import (IO, Any, Callable, Deque, Generator, Iterable, Iterator, List,
                    Sequence, TypeVar, Union)

from . import _capi
from ._errors import (BadRecordError, CtruleError, EmptyInputWarning, NoRecordsError, RulesError,
                      RulesFileNotFoundError, StopScan, StreamError)
from ._model import Alert, Diagnostic, Field, Priority, RecordError, Rule, Severity, Stats

__all__ = [
    "Compiler", "Ruleset", "Scanner", "Scan", "load", "loads", "builtin", "builtin_names",
    "builtin_yaml", "fields", "limit_defaults", "Source", "MatchCallback", "ErrorCallback",
]

PathLike = Union[str, "os.PathLike[str]"]
#: What scanning accepts: a bytes-like object (scanned without a copy), a file
#: path (str or os.PathLike), a binary file object, or an iterable of
#: bytes-like chunks. Gzip-compressed input is recognised by the library.
Source = Union[bytes, bytearray, memoryview, PathLike, IO[bytes], Iterable[Any]]
#: A match callback: gets an :class:`Alert`; a true return value (e.g. True)
#: stops the scan, None or False goes on.
MatchCallback = Callable[[Alert], object]
#: An error callback: gets each :class:`RecordError` as it is reported.
ErrorCallback = Callable[[RecordError], None]

DEFAULT_CHUNK_SIZE = 1 << 20


def _check(status: int) -> None:
    if status < 0:
        raise CtruleError(status)


def _limit_ids() -> dict[str, int]:
    return {name: i for i in range(_capi.CTR_LIMIT__COUNT)
            if (name := _capi.ctr_limit_name(i)) is not None}


def limit_defaults() -> dict[str, int]:
    """Every resource limit by name (``"macro_depth"``, ``"record_bytes"``,
    ...) with its default value. Rules limits and the PCRE2 limits go to
    :class:`Compiler` (``limits=``); record limits and the PCRE2 limits go to
    :class:`Scanner` (``limits=``)."""
    return {name: int(_capi.ctr_limit_default(i)) for name, i in _limit_ids().items()}


def _set_limits(setter: Callable[[int, int], int], limits: Any, where: str) -> None:
    """Applies a {name: value} mapping; unknown names, and limits that do not
    apply to this object, raise ValueError naming them."""
    if limits is None:
        return
    ids = _limit_ids()
    for name, value in dict(limits).items():
        if name not in ids:
            raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(ids))})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"limit {name} must be a non-negative int (0: the default), not {value!r}")
        if setter(ids[name], value) != _capi.CTR_OK:
            raise ValueError(f"limit {name} cannot be set on a {where}, or {value} is out of range")


# ----------------------------------------------------------------- compiler

_F = TypeVar("_F", bound=Callable[..., Any])


def _serialized(method: _F) -> _F:
    """Runs a Compiler method under the compiler's lock: the library's
    compiler is not thread-safe and the GIL is released during its calls."""
    @functools.wraps(method)
    def wrapper(self: Compiler, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _read_diag(d: Any) -> Diagnostic:
    return Diagnostic(
        severity=Severity(_capi.ctr_diag_severity(d)),
        file=_capi.ctr_diag_file(d),
        line=_capi.ctr_diag_line(d),
        column=_capi.ctr_diag_column(d),
        item=_capi.ctr_diag_item(d),
        code=_capi.ctr_diag_code(d),
        message=_capi.ctr_diag_message(d),
        text=_capi.ctr_diag_text(d),
    )


class Compiler:
    """Loads rules (files, strings, built-in sets) and compiles a :class:`Ruleset`.

    Definitions accumulate across the ``add_*`` calls, in order, exactly as
    Falco loads several rules files. Selection calls apply at compile time,
    in the order they were made, on top of each rule's own ``enabled`` key.

    Calls from several threads are serialized. It can be used as a context
    manager; :meth:`close` frees it early (it is freed when collected anyway).

    Example::

        c = ctrule.Compiler()
        c.add_builtin("rds")
        c.add_file("my_rules.yaml")
        c.select_tag("aws_rds")
        c.min_priority = "warning"
        ruleset = c.compile()
    """

    def __init__(self, *, limits: Any = None) -> None:
        status, ptr = _capi.ctr_compiler_new()
        _check(status)
        self._ptr_: Any = ptr
        self._seen = 0
        self._lock = threading.RLock()
        self._finalizer = weakref.finalize(self, _capi.ctr_compiler_free, ptr)
        self.set_limits(limits or {})

    @_serialized
    def set_limits(self, limits: Any) -> None:
        """Sets rules limits and PCRE2 limits from a ``{name: value}`` mapping
        (see :func:`limit_defaults`; 0 restores a default). YAML and rule-count
        limits bound the files added afterwards. Exceeding one makes loading
        or compiling raise :class:`RulesError` whose diagnostic names it.

        Raises:
            ValueError: an unknown name, a record limit, or a bad value.
        """
        _set_limits(lambda i, v: _capi.ctr_compiler_set_limit(self._ptr, i, v), limits, "compiler")

    # ---- lifetime

    @property
    def _ptr(self) -> Any:
        if not self._finalizer.alive:
            raise ValueError("the compiler is closed")
        return self._ptr_

    @_serialized
    def close(self) -> None:
        """Frees the compiler. Rulesets it compiled stay valid."""
        self._finalizer()

    def __enter__(self) -> Compiler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- diagnostics

    @property
    @_serialized
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic produced so far (warnings and errors), in order."""
        ptr = self._ptr
        return [_read_diag(_capi.ctr_compiler_diag(ptr, i))
                for i in range(_capi.ctr_compiler_diag_count(ptr))]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The warning diagnostics produced so far."""
        return [d for d in self.diagnostics if not d.is_error]

    @property
    @_serialized
    def error_count(self) -> int:
        """Number of error diagnostics produced so far."""
        return int(_capi.ctr_compiler_error_count(self._ptr))

    def _step(self, status: int, message: str | None = None) -> list[Diagnostic]:
        ptr = self._ptr
        count = _capi.ctr_compiler_diag_count(ptr)
        new = [_read_diag(_capi.ctr_compiler_diag(ptr, i)) for i in range(self._seen, count)]
        self._seen = count
        if status < 0:
            raise RulesError(status, new, message)
        return new

    # ---- loading

    @_serialized
    def add_file(self, path: PathLike) -> list[Diagnostic]:
        """Loads a rules file.

        Returns:
            The diagnostics this file produced (warnings only, on success).

        Raises:
            RulesFileNotFoundError: the file does not exist (a
                :class:`RulesError` and a :class:`FileNotFoundError`).
            RulesError: the file has an error (``ESYNTAX``; as in Falco its
                loading stopped at the first error), cannot be read (``EIO``)
                or needs a newer engine (``EVERSION``). Its ``file``, ``line``
                and ``column`` locate the first error.
        """
        name = os.fsdecode(path)
        try:
            return self._step(_capi.ctr_compiler_add_file(self._ptr, name))
        except RulesError as e:
            if e.status == _capi.CTR_EIO and not os.path.lexists(name):
                raise RulesFileNotFoundError(e.status, e.diagnostics, name) from None
            raise

    @_serialized
    def add_string(self, text: str | bytes, name: str = "<string>") -> list[Diagnostic]:
        """Loads rules from a str or bytes (YAML); ``name`` stands for the
        file name in diagnostics. Returns and raises as :meth:`add_file`."""
        if not isinstance(text, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"rules text must be str or bytes, not {type(text).__name__}")
        return self._step(_capi.ctr_compiler_add_string(self._ptr, text, name))

    @_serialized
    def add_builtin(self, name: str = "rds") -> list[Diagnostic]:
        """Loads a ruleset compiled into the library (see :func:`builtin_names`).

        Raises:
            RulesError: with status ``ENOENT`` if there is no such built-in.
        """
        status = _capi.ctr_compiler_add_builtin(self._ptr, name)
        message = None
        if status == _capi.CTR_ENOENT:
            message = f"no built-in ruleset named {name!r} (available: {', '.join(builtin_names())})"
        return self._step(status, message)

    # ---- selection

    @_serialized
    def select_name(self, glob: str, enable: bool = True) -> None:
        """Enables (or disables) every rule whose name matches the glob
        (fnmatch syntax: ``*``, ``?``, ``[...]``)."""
        _check(_capi.ctr_compiler_select_name(self._ptr, glob, int(bool(enable))))

    @_serialized
    def select_tag(self, tag: str, enable: bool = True) -> None:
        """Enables (or disables) every rule carrying ``tag`` (exact, case-sensitive)."""
        _check(_capi.ctr_compiler_select_tag(self._ptr, tag, int(bool(enable))))

    @_serialized
    def only(self, tags: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        """Keeps only the rules having one of ``tags`` or a name matching one
        of the globs in ``names`` (Falco's ``-t``), disabling all others."""
        tags, names = list(tags), list(names)
        if not tags and not names:
            return
        self.select_name("*", False)
        for tag in tags:
            self.select_tag(tag, True)
        for glob in names:
            self.select_name(glob, True)

    _min_priority: Priority = Priority.DEBUG

    @property
    def min_priority(self) -> Priority:
        """Rules less severe than this stay disabled (default DEBUG: all).
        Accepts a :class:`Priority`, an int or a name such as ``"warning"``."""
        return self._min_priority

    @min_priority.setter
    @_serialized
    def min_priority(self, value: Priority | int | str) -> None:
        priority = Priority.parse(value)
        _check(_capi.ctr_compiler_set_min_priority(self._ptr, int(priority)))
        self._min_priority = priority

    # ---- compiling

    @_serialized
    def compile(self) -> Ruleset:
        """Resolves macros and lists, compiles every rule and returns an
        immutable :class:`Ruleset`.

        Raises:
            RulesError: some error diagnostic exists (its ``diagnostics`` hold
                those of this step; :attr:`diagnostics` holds all of them).
        """
        ptr = self._ptr
        if _capi.ctr_compiler_error_count(ptr):
            raise RulesError(_capi.CTR_ESYNTAX, [d for d in self.diagnostics if d.is_error])
        status, rs = _capi.ctr_compiler_compile(ptr)
        self._step(status)
        return Ruleset._adopt(rs)


# ------------------------------------------------------------------ ruleset


def _read_rule(ptr: Any, i: int) -> Rule:
    return Rule(
        name=_capi.ctr_ruleset_rule_name(ptr, i),
        desc=_capi.ctr_ruleset_rule_desc(ptr, i) or "",
        condition=_capi.ctr_ruleset_rule_condition(ptr, i) or "",
        output=_capi.ctr_ruleset_rule_output(ptr, i) or "",
        priority=Priority(_capi.ctr_ruleset_rule_priority(ptr, i)),
        enabled=bool(_capi.ctr_ruleset_rule_enabled(ptr, i)),
        tags=tuple(_capi.ctr_ruleset_rule_tag(ptr, i, t)
                   for t in range(_capi.ctr_ruleset_rule_tag_count(ptr, i))),
    )


class Ruleset:
    """An immutable compiled set of rules, shared freely between threads.

    Obtain one from :func:`load`, :func:`loads`, :func:`builtin` or
    :meth:`Compiler.compile`. Any number of threads may scan with one ruleset
    at the same time, each with its own :class:`Scanner` (or :meth:`scan`
    iterator); the GIL is released while the library scans.
    """

    def __init__(self) -> None:
        raise TypeError("create a Ruleset with ctrule.load(), loads(), builtin() or Compiler.compile()")

    @classmethod
    def _adopt(cls, ptr: Any) -> Ruleset:
        self = object.__new__(cls)
        self._ptr_ = ptr
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _capi.ctr_ruleset_unref, ptr)
        self.rules = tuple(_read_rule(ptr, i) for i in range(_capi.ctr_ruleset_rule_count(ptr)))
        return self

    _ptr_: Any
    _lock: threading.Lock
    _finalizer: weakref.finalize[..., Ruleset]
    #: Every compiled rule, enabled or not, in definition order.
    rules: tuple[Rule, ...]

    @property
    def enabled_rules(self) -> tuple[Rule, ...]:
        """The rules that are evaluated."""
        return tuple(r for r in self.rules if r.enabled)

    @property
    def enabled_count(self) -> int:
        """Number of enabled rules."""
        with self._lock:
            return int(_capi.ctr_ruleset_enabled_count(self._ptr))

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __contains__(self, name: object) -> bool:
        return any(r.name == name for r in self.rules)

    def __getitem__(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"<ctrule.Ruleset: {len(self.rules)} rules>"

    # ---- lifetime

    @property
    def _ptr(self) -> Any:
        if not self._finalizer.alive:
            raise ValueError("the ruleset is closed")
        return self._ptr_

    def close(self) -> None:
        """Drops this object's reference to the compiled rules. Scanners
        created from it keep their own reference and stay usable."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> Ruleset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_scanner(self, fn: tuple[Any, ...] | None) -> Any:
        with self._lock:
            status, sc = _capi.ctr_scanner_new(self._ptr, fn)
        _check(status)
        return sc

    # ---- scanning

    def scanner(self, on_match: MatchCallback | None = None, **options: Any) -> Scanner:
        """A new :class:`Scanner` on this ruleset; see :class:`Scanner` for
        the options."""
        return Scanner(self, on_match, **options)

    def scan(self, source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Scan:
        """Iterates over the alerts of a whole input::

            for alert in ruleset.scan("trail.json.gz"):
                print(alert.rule, alert.output)

        ``source`` is bytes-like, a path, a binary file object or an iterable
        of bytes-like chunks; it is streamed in chunks of ``chunk_size``
        bytes, so memory stays bounded whatever its size. ``options`` are
        those of :class:`Scanner` except ``on_match``. Alerts come in stream
        order. Breaking out of the loop stops the scan.

        An ``s3://bucket/prefix`` URL is hunted through with :mod:`ctrule.s3`
        (boto3; ``since``, ``until``, ``accounts``, ``regions``, ``threads``
        options): see :class:`ctrule.s3.S3Scan`.
        """
        if isinstance(source, str) and source.startswith("s3://"):
            from . import s3  # boto3 is an optional extra: imported on use
            return s3.S3Scan(self, source, chunk_size=chunk_size, **options)  # type: ignore[return-value]
        return Scan(self, source, chunk_size=chunk_size, **options)

    def count(self, source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Stats:
        """Scans a whole input with no callback (the fastest way to count
        matches: no Python code runs per match) and returns the :class:`Stats`."""
        with Scanner(self, None, **options) as sc:
            sc.scan(source, chunk_size=chunk_size)
            return sc.stats


# ------------------------------------------------------------------ scanner


def _make_callbacks(on_match: MatchCallback | None, on_error: ErrorCallback | None,
                    strict: bool, errors: List[RecordError], max_errors: int,
                    state: List[Any]) -> tuple[tuple[Any, ...] | None, Callable[..., None]]:
    # state = [first bad record in strict mode, last record error]. Neither
    # callback refers to the Scanner, so a Scanner is freed as soon as it is
    # unreachable (no reference cycle through the library).
    #
    # The match callback is applied in C (ctrule.i: ctrpy_cb_call): on_match
    # is called with each Alert until state[0] is set (strict mode saw a bad
    # record); a true return or StopScan stops the scan. A Python function
    # doing the same around on_match was a frame per alert.
    match_cb = (on_match, state, StopScan) if on_match is not None else None

    def error_cb(status: int, index: int, offset: int, message: str, evaluated: int,
                 text: str) -> None:
        err = RecordError(status, index, offset, message, bool(evaluated), text)
        state[1] = err
        if len(errors) < max_errors:
            errors.append(err)
        if strict and not evaluated and state[0] is None:
            state[0] = err
        if on_error is not None:
            on_error(err)

    return match_cb, error_cb


def _free_scanner(ptr: Any, *keepalive: Any) -> None:
    # keepalive: the callbacks the library holds borrowed pointers to.
    _capi.ctr_scanner_free(ptr)


_STAT_NAMES = [("bytes", _capi.CTR_STAT_BYTES), ("records", _capi.CTR_STAT_RECORDS),
               ("matches", _capi.CTR_STAT_MATCHES), ("bad_records", _capi.CTR_STAT_BAD_RECORDS),
               ("skipped", _capi.CTR_STAT_SKIPPED), ("evaluated", _capi.CTR_STAT_EVALUATED),
               ("incomplete", _capi.CTR_STAT_INCOMPLETE)]
# Stats' fields picked out of ctrpy_scanner_stats' tuple (indexed by CTR_STAT_*).
_stat_fields = operator.itemgetter(*(code for _, code in _STAT_NAMES))
_stream_counts = operator.itemgetter(_capi.CTR_STAT_RECORDS, _capi.CTR_STAT_BAD_RECORDS,
                                     _capi.CTR_STAT_SKIPPED, _capi.CTR_STAT_INCOMPLETE)


def _configure(ptr: Any, *, first_match: bool = False, no_index: bool = False,
               no_correlation: bool = False, only_correlation: bool = False,
               max_record_bytes: int | None = None, max_json_depth: int | None = None,
               max_gzip_output: int | None = None, limits: Any = None) -> None:
    """Sets a scanner's flags and limits from :class:`Scanner`'s options
    (also scan_files' C scanners, ctrule.i: ctrpy_pool)."""
    if no_correlation and only_correlation:
        raise ValueError("no_correlation and only_correlation are the two halves of one scan: "
                         "a scanner takes one of them")
    flags = ((_capi.CTR_SCAN_FIRST_MATCH if first_match else 0)
             | (_capi.CTR_SCAN_NO_INDEX if no_index else 0)
             | (_capi.CTR_SCAN_NO_CORRELATION if no_correlation else 0)
             | (_capi.CTR_SCAN_ONLY_CORRELATION if only_correlation else 0))
    _check(_capi.ctr_scanner_set_flags(ptr, flags))
    for limit, value in ((_capi.CTR_LIMIT_RECORD_BYTES, max_record_bytes),
                         (_capi.CTR_LIMIT_JSON_DEPTH, max_json_depth),
                         (_capi.CTR_LIMIT_GZIP_OUTPUT, max_gzip_output)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"limits must be positive ints, not {value!r}")
            if _capi.ctr_scanner_set_limit(ptr, limit, value) != _capi.CTR_OK:
                raise ValueError(f"limit value {value} is out of range")
    _set_limits(lambda i, v: _capi.ctr_scanner_set_limit(ptr, i, v), limits, "scanner")


def _check_records(records: int, bad: int, skipped: int, incomplete: int, stacklevel: int) -> None:
    """The policy for wrong or empty input at a stream's end
    (docs/bad-input.md): no record warns, no complete CloudTrail record
    raises NoRecordsError; a skipped record (a recognised non-CloudTrail
    shape) decides nothing."""
    if skipped:
        return
    if records == 0:
        warnings.warn(EmptyInputWarning("empty input: no record in it"), stacklevel=stacklevel)
    elif bad + incomplete >= records:
        raise NoRecordsError(records, bad, incomplete)


class _Exclusive:
    """A scanner's use by one caller at a time (a class, not
    contextlib.contextmanager: it is entered three times per input)."""

    __slots__ = ("scanner",)

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner

    def __enter__(self) -> Any:
        sc = self.scanner
        if not sc._lock.acquire(blocking=False):
            raise CtruleError(_capi.CTR_EBUSY, "scanner re-entered from its own callback "
                              "or used by two threads at once")
        try:
            return sc._ptr
        except BaseException:
            sc._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        self.scanner._lock.release()


class Scanner:
    """Scans one stream of CloudTrail data at a time against a :class:`Ruleset`.

    Feed bytes in any chunking (split anywhere, gzip recognised by itself) with
    :meth:`feed`, then call :meth:`finish`; or hand a whole source to
    :meth:`scan`. ``on_match`` is called with an :class:`Alert` for every
    match, on the feeding thread, in stream order:

    - returning a true value (e.g. ``True``) or raising :class:`StopScan`
      stops the scan cleanly: ``feed``/``finish`` return ``False``;
    - raising anything else stops the scan and the exception propagates out
      of ``feed``/``finish``/``scan`` unchanged.

    Bad records do not stop a scan: each is reported as a :class:`RecordError`
    (record index, byte offset, message), kept in :attr:`errors` (up to
    ``max_errors``) and passed to ``on_error`` if given. With ``strict=True``
    the first record that cannot be evaluated stops the scan: no alert from a
    later record is delivered and ``feed``/``finish`` raise
    :class:`BadRecordError`. (Incomplete but evaluated records are reported,
    not fatal.) An ``on_error`` that raises stops the scan like ``on_match``.

    A scanner is used by one thread at a time (a second concurrent use, or
    feeding it from its own callback, raises :class:`CtruleError` EBUSY); use
    one scanner per thread, all sharing one ruleset. The GIL is released while
    the library scans.

    Args:
        ruleset: the rules.
        on_match: callback per match, or None to only count matches.
        on_error: callback per record error, or None.
        strict: stop and raise on the first record that cannot be evaluated.
        first_match: report only the first matching rule of each record.
        no_index: evaluate every rule on every record, each parsed whole (the
            plain route every fast path is tested against; same results, slower).
        no_correlation: keep no correlation state and make no correlation
            alert (``CTR_SCAN_NO_CORRELATION``): the matches ``generate:
            false`` would keep quiet are delivered with ``Alert.silenced``
            True, for a caller that forwards each matched record
            (``Alert.raw``) to a scanner made with ``only_correlation``.
        only_correlation: the other half (``CTR_SCAN_ONLY_CORRELATION``):
            rules are evaluated to feed the correlations and only
            correlation alerts are delivered and counted. Not with
            ``no_correlation`` (ValueError). :func:`scan_files` pairs them
            so that correlations see every input in input order.
        max_record_bytes, max_json_depth, max_gzip_output: override the
            library's limits (defaults 16 MiB, 64, 64 GiB).
        limits: record and PCRE2 limits by name, e.g. ``{"regex_match":
            10**6}`` (see :func:`limit_defaults`; 0 restores a default).
        max_errors: how many record errors :attr:`errors` keeps.
    """

    def __init__(self, ruleset: Ruleset, on_match: MatchCallback | None = None, *,
                 on_error: ErrorCallback | None = None, strict: bool = False,
                 first_match: bool = False, no_index: bool = False,
                 no_correlation: bool = False, only_correlation: bool = False,
                 max_record_bytes: int | None = None, max_json_depth: int | None = None,
                 max_gzip_output: int | None = None, max_errors: int = 1000,
                 limits: Any = None) -> None:
        if not isinstance(ruleset, Ruleset):
            raise TypeError(f"ruleset must be a Ruleset, not {type(ruleset).__name__}")
        if on_match is not None and not callable(on_match):
            raise TypeError("on_match must be callable or None")
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be callable or None")
        self.ruleset = ruleset
        self._errors: List[RecordError] = []
        self._state: List[Any] = [None, None]
        self._strict = bool(strict)
        match_cb, error_cb = _make_callbacks(on_match, on_error, self._strict, self._errors,
                                             max_errors, self._state)
        ptr = ruleset._new_scanner(match_cb)
        # scan_files' workers set it to match_cb: their callback never stops
        # the scan, so a file's matches may reach it in batches (ctrpy_batch).
        self._match_cb = match_cb
        self._batch: tuple[Any, ...] | None = None
        # scan_files' correlator sets it: its feeds are single records, too
        # short to let go of the GIL for (ctrpy_scanner_feed_held).
        self._feed = _capi.ctr_scanner_feed
        self._finalizer = weakref.finalize(self, _free_scanner, ptr, match_cb, error_cb)
        self._ptr_ = ptr
        self._lock = threading.Lock()
        self._stopped = False
        self._closed_stats: Stats | None = None
        self._closed_last_error = ""
        _capi.ctr_scanner_set_error_callback(ptr, error_cb)
        _configure(ptr, first_match=first_match, no_index=no_index, no_correlation=no_correlation,
                   only_correlation=only_correlation, max_record_bytes=max_record_bytes,
                   max_json_depth=max_json_depth, max_gzip_output=max_gzip_output, limits=limits)
        self._stream_start = self._counts()

    # ---- lifetime

    @property
    def _ptr(self) -> Any:
        if not self._finalizer.alive:
            raise ValueError("the scanner is closed")
        return self._ptr_

    def _exclusive(self) -> _Exclusive:
        return _Exclusive(self)

    def close(self) -> None:
        """Frees the scanner; :attr:`stats`, :attr:`errors` and
        :attr:`last_error` keep their final values."""
        if not self._finalizer.alive:
            return
        with self._exclusive():
            self._closed_stats = self.stats
            self._closed_last_error = self.last_error
            self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return not self._finalizer.alive

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- feeding

    def _after(self, status: int) -> bool:
        bad = self._state[0]
        if status == _capi.CTR_OK or status == _capi.CTR_STOPPED:
            if bad is not None:
                self._stopped = True
                raise BadRecordError(bad)
            if status == _capi.CTR_STOPPED:
                self._stopped = True
                return False
            return True
        if status in (_capi.CTR_EDATA, _capi.CTR_ELIMIT):
            self._stopped = True
            last = self._state[1]
            raise StreamError(status, _capi.ctr_scanner_last_error(self._ptr_) or "invalid input",
                              last.offset if last is not None else None)
        if status == _capi.CTR_ESTATE:
            raise CtruleError(status, "the stream was finished: call reset() to start a new one")
        raise CtruleError(status)

    def feed(self, data: bytes | bytearray | memoryview) -> bool:
        """Scans a chunk of the stream (any bytes-like object, not copied).

        Returns:
            True while the scan goes on; False once it was stopped (by the
            callback, or earlier): later feeds do nothing until :meth:`reset`.

        Raises:
            whatever a callback raised (the scan is then stopped);
            BadRecordError: strict mode met a record that cannot be evaluated;
            StreamError: the stream is unreadable (e.g. corrupt gzip);
            CtruleError: ``ESTATE`` after :meth:`finish` without :meth:`reset`,
                ``EBUSY`` when used by two threads at once or from its callback;
            TypeError: ``data`` is not bytes-like.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            data = memoryview(data)  # TypeError for non bytes-like
        with self._exclusive() as ptr:
            if self._stopped:
                return False
            try:
                status = self._feed(ptr, data)
            except BaseException:
                self._stopped = True
                raise
            return self._after(status)

    def finish(self) -> bool:
        """Ends the stream: the last record is flushed (a truncated one is
        reported as a bad record) and may still match. Returns and raises as
        :meth:`feed`, and applies the policy for wrong or empty input
        (docs/bad-input.md): a stream with no record in it warns
        :class:`EmptyInputWarning`; one with values but not one complete
        CloudTrail record raises :class:`NoRecordsError`. Call :meth:`reset`
        before feeding a new stream."""
        with self._exclusive() as ptr:
            if self._stopped:
                return False
            try:
                status = _capi.ctr_scanner_finish(ptr)
            except BaseException:
                self._stopped = True
                raise
            going = self._after(status)
            if going:
                self._check_records()
            return going

    def _counts(self) -> tuple[int, int, int, int]:
        return _stream_counts(_capi.ctrpy_scanner_stats(self._ptr_))  # type: ignore[no-any-return]

    def _check_records(self) -> None:
        now, start = self._counts(), self._stream_start
        records, bad, skipped, incomplete = (now[i] - start[i] for i in range(4))
        _check_records(records, bad, skipped, incomplete, stacklevel=4)

    def reset(self) -> None:
        """Starts a new stream (after :meth:`finish`, after a stop, or to
        abandon a stream): record indexes and byte offsets restart; stats
        and :attr:`errors` keep accumulating."""
        with self._exclusive() as ptr:
            _capi.ctr_scanner_reset(ptr)
            self._stopped = False
            self._state[0] = None
            self._stream_start = self._counts()

    def scan(self, source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bool:
        """Scans a whole source as a new stream (:meth:`reset`, every chunk
        through :meth:`feed`, then :meth:`finish`). ``source`` is as for
        :meth:`Ruleset.scan`. Returns False if the scan was stopped.
        Raises as :meth:`feed`."""
        self.reset()
        if isinstance(source, (str, os.PathLike)) and not self._strict:
            return self._scan_file(source, chunk_size)
        with contextlib.closing(_chunks(source, chunk_size)) as chunks:
            for chunk in chunks:
                if not self.feed(chunk):
                    return False
        return self.finish()

    def _scan_file(self, path: str | os.PathLike[str], chunk_size: int) -> bool:
        # A file read and scanned in one call without the GIL (ctrule.i:
        # ctrpy_scan_file): what threads scanning many small files wait for
        # is the GIL at each open, read, feed and finish. Strict mode takes
        # the chunk-by-chunk way, which stops at the feed a bad record was in.
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        fspath = os.fsencode(path)
        with self._exclusive() as ptr:
            try:
                status, finished, err = _capi.ctrpy_scan_file(ptr, fspath, chunk_size, self._batch)
            except BaseException:
                self._stopped = True
                raise
            if err:
                raise OSError(err, os.strerror(err), path)
            going = self._after(status)
            if going and finished:
                self._check_records()
            return going

    # ---- state

    @property
    def stopped(self) -> bool:
        """True once the scan was stopped (callback, strict mode, error)."""
        return self._stopped

    @property
    def stats(self) -> Stats:
        """The scanner's counters (they accumulate across streams)."""
        if self._closed_stats is not None:
            return self._closed_stats
        return Stats(*_stat_fields(_capi.ctrpy_scanner_stats(self._ptr)))

    @property
    def errors(self) -> List[RecordError]:
        """The record errors reported so far, in order (the first
        ``max_errors``; :attr:`stats` counts them all). A live list: it may
        be cleared."""
        return self._errors

    @property
    def last_error(self) -> str:
        """Text of the last record or stream error, or "" if none."""
        if self._closed_stats is not None:
            return self._closed_last_error
        return str(_capi.ctr_scanner_last_error(self._ptr))


# ----------------------------------------------------------------- sources


def _chunks(source: Source, chunk_size: int) -> Generator[Any, None, None]:
    """Yields bytes-like chunks of a source; files opened here are closed."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield from _file_chunks(f, chunk_size)
        return
    if isinstance(source, (bytes, bytearray, memoryview)) or _is_buffer(source):
        with memoryview(source) as view:  # type: ignore[arg-type]
            flat = view if view.format == "B" and view.ndim == 1 else view.cast("B")
            for start in range(0, max(len(flat), 1), chunk_size):
                yield flat[start:start + chunk_size]
        return
    if hasattr(source, "read"):
        yield from _file_chunks(source, chunk_size)  # type: ignore[arg-type]
        return
    if isinstance(source, Iterable):
        for chunk in source:
            if isinstance(chunk, str):
                raise TypeError("chunks must be bytes-like, not str")
            yield chunk
        return
    raise TypeError(f"cannot scan a {type(source).__name__}: give bytes, a path, "
                    "a binary file or an iterable of bytes")


def _is_buffer(obj: object) -> bool:
    try:
        memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def _file_chunks(f: IO[Any], chunk_size: int) -> Generator[Any, None, None]:
    if isinstance(f, io.TextIOBase):
        raise TypeError("the file must be opened in binary mode ('rb')")
    readinto = getattr(f, "readinto", None)
    if readinto is not None:
        # No larger than the file: zeroing a chunk_size buffer for each small
        # log file was a third of the time scan_files held the GIL.
        try:
            size = os.fstat(f.fileno()).st_size
        except (AttributeError, OSError, ValueError):  # no descriptor (BytesIO, ...)
            size = 0
        buf = bytearray(min(chunk_size, size) if size > 0 else chunk_size)
        with memoryview(buf) as view:
            while True:
                n = readinto(buf)
                if not n:
                    return
                yield view[:n]
    while True:
        chunk = f.read(chunk_size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("the file must be opened in binary mode ('rb')")
        yield chunk


# --------------------------------------------------------------- iterator


class Scan(Iterator[Alert]):
    """The iterator returned by :meth:`Ruleset.scan`: yields :class:`Alert`
    objects in stream order while streaming the source in chunks.

    After (or during) the iteration, :attr:`stats`, :attr:`errors` and
    :attr:`stopped` describe the scan. Exceptions (a callback's, strict
    mode's :class:`BadRecordError`, :class:`StreamError`) are raised by
    ``next()`` after the alerts found before them have been yielded.
    :meth:`close` (or leaving a ``with`` block, or breaking out of a ``for``
    loop and dropping the iterator) stops the scan and frees the scanner.
    """

    def __init__(self, ruleset: Ruleset, source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 **options: Any) -> None:
        if "on_match" in options:
            raise TypeError("Ruleset.scan() takes no on_match: iterate over it instead")
        self._pending: Deque[Alert] = collections.deque()
        self._scanner = Scanner(ruleset, self._pending.append, **options)
        self._gen = self._run(source, chunk_size)

    def _drain(self) -> Iterator[Alert]:
        pending = self._pending
        while pending:
            yield pending.popleft()

    def _run(self, source: Source, chunk_size: int) -> Generator[Alert, None, None]:
        sc = self._scanner
        try:
            with contextlib.closing(_chunks(source, chunk_size)) as chunks:
                for chunk in chunks:
                    try:
                        going = sc.feed(chunk)
                    except Exception:
                        yield from self._drain()
                        raise
                    yield from self._drain()
                    if not going:
                        return
            try:
                sc.finish()
            finally:
                yield from self._drain()
        finally:
            sc.close()

    def __iter__(self) -> Scan:
        return self

    def __next__(self) -> Alert:
        return next(self._gen)

    def close(self) -> None:
        """Stops the scan and frees its scanner."""
        self._gen.close()
        self._scanner.close()

    def __enter__(self) -> Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> Stats:
        """The scan's counters so far."""
        return self._scanner.stats

    @property
    def errors(self) -> List[RecordError]:
        """The record errors reported so far."""
        return self._scanner.errors

    @property
    def stopped(self) -> bool:
        """True if the scan was stopped before the end of the source."""
        return self._scanner.stopped


# ------------------------------------------------------------ conveniences


def _compile(add: Callable[[Compiler], object], tags: Iterable[str], names: Iterable[str],
             exclude_tags: Iterable[str], exclude_names: Iterable[str],
             min_priority: Priority | int | str | None, limits: Any = None) -> Ruleset:
    if isinstance(tags, str) or isinstance(names, str) or isinstance(exclude_tags, str) \
            or isinstance(exclude_names, str):
        raise TypeError("tags, names, exclude_tags and exclude_names are lists of str")
    with Compiler(limits=limits) as c:
        add(c)
        c.only(tags, names)
        for tag in exclude_tags:
            c.select_tag(tag, False)
        for glob in exclude_names:
            c.select_name(glob, False)
        if min_priority is not None:
            c.min_priority = min_priority
        return c.compile()


def load(*paths: PathLike, builtins: Sequence[str] = ("rds",), tags: Iterable[str] = (),
         names: Iterable[str] = (), exclude_tags: Iterable[str] = (),
         exclude_names: Iterable[str] = (),
         min_priority: Priority | int | str | None = None, limits: Any = None) -> Ruleset:
    """Loads rules files after the built-in sets named in ``builtins`` (by
    default the RDS rules, as the ``ctrule`` CLI does, so that a tuning file
    may append to or override a built-in rule; ``builtins=()`` for
    standalone files) and compiles them.

    Selection: ``tags``/``names`` keep only the rules having one of the tags
    or a name matching one of the globs; ``exclude_tags``/``exclude_names``
    then disable rules; ``min_priority`` disables rules less severe than it.
    ``limits`` sets compiler limits by name (see :func:`limit_defaults`).

    Raises:
        RulesFileNotFoundError: a file does not exist (also a
            :class:`FileNotFoundError`).
        RulesError: with the diagnostics (file, line, column, code, message).
    """
    def add(c: Compiler) -> None:
        for name in builtins:
            c.add_builtin(name)
        for path in paths:
            c.add_file(path)
    return _compile(add, tags, names, exclude_tags, exclude_names, min_priority, limits)


def loads(text: str | bytes, name: str = "<string>", *, tags: Iterable[str] = (),
          names: Iterable[str] = (), exclude_tags: Iterable[str] = (),
          exclude_names: Iterable[str] = (),
          min_priority: Priority | int | str | None = None, limits: Any = None) -> Ruleset:
    """Compiles rules given as YAML text; ``name`` stands for the file name
    in diagnostics. Selection and errors as :func:`load`."""
    return _compile(lambda c: c.add_string(text, name), tags, names, exclude_tags,
                    exclude_names, min_priority, limits)


def builtin(name: str = "rds", *, tags: Iterable[str] = (), names: Iterable[str] = (),
            exclude_tags: Iterable[str] = (), exclude_names: Iterable[str] = (),
            min_priority: Priority | int | str | None = None, limits: Any = None) -> Ruleset:
    """Compiles a ruleset built into the library (``"rds"``: risky AWS RDS
    changes). Selection and errors as :func:`load`."""
    return _compile(lambda c: c.add_builtin(name), tags, names, exclude_tags, exclude_names,
                    min_priority, limits)


def builtin_names() -> list[str]:
    """Names of the rulesets built into the library."""
    return [_capi.ctr_builtin_name(i) for i in range(_capi.ctr_builtin_count())]


def builtin_yaml(name: str = "rds") -> str:
    """The YAML text of a built-in ruleset.

    Raises:
        KeyError: no such built-in.
    """
    text = _capi.ctr_builtin_yaml(name)
    if text is None:
        raise KeyError(name)
    return str(text)


def fields() -> list[Field]:
    """Every field a condition or output may name, in the library's order."""
    return [Field(_capi.ctr_field_name(i), _capi.ctr_field_desc(i), _capi.ctr_field_type(i))
            for i in range(_capi.ctr_field_count())]
