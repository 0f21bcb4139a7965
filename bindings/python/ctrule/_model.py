"""Value types of the ctrule package: priorities, diagnostics, record errors,
statistics, rule descriptions and alerts."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import operator
from typing import Any

from . import _capi

__all__ = ["Status", "Priority", "Severity", "Diagnostic", "RecordError", "Stats", "Rule", "Field", "Alert"]


class Status(enum.IntEnum):
    """The library's status codes (``CTR_STATUS_MAP``): OK, STOPPED (not an
    error) and the negative error codes carried by :class:`~ctrule.CtruleError`."""

    OK = _capi.CTR_OK
    STOPPED = _capi.CTR_STOPPED
    ENOMEM = _capi.CTR_ENOMEM
    EINVAL = _capi.CTR_EINVAL
    ESYNTAX = _capi.CTR_ESYNTAX
    EIO = _capi.CTR_EIO
    EDATA = _capi.CTR_EDATA
    ENOENT = _capi.CTR_ENOENT
    EBUSY = _capi.CTR_EBUSY
    ELIMIT = _capi.CTR_ELIMIT
    EVERSION = _capi.CTR_EVERSION
    ESTATE = _capi.CTR_ESTATE

    @property
    def message(self) -> str:
        """The library's message for this status (``ctr_strerror``)."""
        return _capi.ctr_strerror(int(self))


class Priority(enum.IntEnum):
    """Falco's eight rule priorities, mirroring ``ctr_priority``.

    A lower value is *more* severe: ``Priority.CRITICAL < Priority.WARNING``.
    """

    EMERGENCY = _capi.CTR_PRIORITY_EMERGENCY
    ALERT = _capi.CTR_PRIORITY_ALERT
    CRITICAL = _capi.CTR_PRIORITY_CRITICAL
    ERROR = _capi.CTR_PRIORITY_ERROR
    WARNING = _capi.CTR_PRIORITY_WARNING
    NOTICE = _capi.CTR_PRIORITY_NOTICE
    INFORMATIONAL = _capi.CTR_PRIORITY_INFORMATIONAL
    DEBUG = _capi.CTR_PRIORITY_DEBUG

    @property
    def label(self) -> str:
        """Falco's canonical spelling ("Critical", "Informational", ...)."""
        return _capi.ctr_priority_name(int(self)) or self.name.title()

    @classmethod
    def parse(cls, value: Priority | int | str) -> Priority:
        """Converts a priority given as a member, an int (0-7) or a name.

        Names are case-insensitive and ``"info"`` is accepted, as in Falco.

        Raises:
            ValueError: unknown name or out-of-range value.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            code = _capi.ctr_priority_parse(value)
            if code < 0:
                raise ValueError(f"unknown priority {value!r}")
            return cls(code)
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        raise TypeError(f"a priority must be a Priority, an int or a str, not {type(value).__name__}")


class Severity(enum.IntEnum):
    """Severity of a rules diagnostic, mirroring ``ctr_severity``."""

    ERROR = _capi.CTR_SEVERITY_ERROR
    WARNING = _capi.CTR_SEVERITY_WARNING


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One diagnostic produced while loading or compiling rules.

    Attributes:
        severity: :attr:`Severity.ERROR` or :attr:`Severity.WARNING`.
        file: the file name given when the rules were added (``"<string>"``
            or the name passed for strings, ``"<builtin:rds>"`` for built-ins).
        line, column: 1-based position in that file, 0 when unknown.
        item: name of the rule, macro or list concerned, or None.
        code: stable machine-readable code in Falco's style
            (``"LOAD_ERR_YAML_PARSE"``, ``"LOAD_UNKNOWN_KEY"``, ...).
        message: the message without position.
        text: ``"file:line:col: error: message (in 'item')"``, ready to print.
    """

    severity: Severity
    file: str
    line: int
    column: int
    item: str | None
    code: str
    message: str
    text: str

    @property
    def is_error(self) -> bool:
        """True for an error, False for a warning."""
        return self.severity == Severity.ERROR

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class RecordError:
    """A record the scanner reported through its error callback.

    Either the record could not be evaluated (``evaluated`` False: invalid
    JSON, truncated, over a limit ...) or it was evaluated but is not a
    complete CloudTrail record (``evaluated`` True). An unreadable stream
    (corrupt or truncated gzip) is reported here too, with index 0, the
    offset in the compressed input and a text starting "input at byte".

    Attributes:
        status: the library status (usually ``CTR_EDATA``).
        index: 0-based index of the record in the stream.
        offset: byte offset of the record in the (decompressed) stream.
        message: what is wrong, without position.
        evaluated: whether the record was still evaluated against the rules.
        text: ``"record 12 at byte 40960: invalid JSON: ..."``.
    """

    status: int
    index: int
    offset: int
    message: str
    evaluated: bool
    text: str

    @property
    def status_name(self) -> str:
        """Symbolic name of :attr:`status` (``"EDATA"``, ``"ELIMIT"``...)."""
        return _capi.ctr_status_name(self.status)

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class Stats:
    """Counters of a scanner (``ctr_scanner_stat``); they add up with ``+``.

    Attributes:
        bytes: bytes fed (compressed, as given).
        records: records framed, good and bad.
        matches: matches found (callbacks made, when there is a callback).
        bad_records: records that could not be evaluated.
        skipped: values recognised and skipped (digest files, CloudWatch
            control messages, Insights events).
        evaluated: records parsed and evaluated (the others were ruled
            out unparsed by the eventName index and the literal prefilter).
        incomplete: records evaluated but reported as incomplete.
    """

    bytes: int = 0
    records: int = 0
    matches: int = 0
    bad_records: int = 0
    skipped: int = 0
    evaluated: int = 0
    incomplete: int = 0

    def __add__(self, other: Stats) -> Stats:
        if not isinstance(other, Stats):
            return NotImplemented
        return Stats(*map(operator.add, _stats_values(self), _stats_values(other)))

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return dataclasses.asdict(self)


# The counters as a tuple, in field order. Not dataclasses.astuple, which
# deep-copies: scan_files takes a difference of two Stats per input, with the
# GIL held.
_stats_values = operator.attrgetter(*(f.name for f in dataclasses.fields(Stats)))


@dataclasses.dataclass(frozen=True)
class Rule:
    """A compiled rule of a :class:`~ctrule.Ruleset` (enabled or not).

    Attributes:
        name, desc, condition, output: the rule's text (condition after macro
            and list expansion is not shown: this is the rule's own text).
        priority: its :class:`Priority`.
        enabled: whether it is evaluated (own ``enabled`` key and selection).
        tags: its tags in order.
    """

    name: str
    desc: str
    condition: str
    output: str
    priority: Priority
    enabled: bool
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Field:
    """A field that conditions and outputs may name (``ct.user``, ``json.value``...).

    Attributes:
        name: the field name.
        desc: what it extracts.
        type: ``"string"``, ``"uint64"`` or ``"list"``.
    """

    name: str
    desc: str
    type: str


_PRIORITIES: tuple[Priority, ...] = tuple(Priority)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Alert:
    """A match of one rule on one record. Everything is copied out of the
    library: an Alert stays valid after the scan and can be pickled.

    Attributes:
        rule: the rule name.
        priority: the rule's :class:`Priority`.
        output: the rule's output template rendered Falco's way (absent
            fields print ``<NA>``).
        tags: the rule's tags.
        fields: Falco's ``output_fields``: every field named in the output
            template, in order, with its rendered value or None when absent.
        time_ns: the record's ``eventTime`` in nanoseconds since the epoch
            (0 when absent or invalid).
        raw: the raw bytes of the matching record.
        record_index: 0-based index of the record in the stream.
        byte_offset: byte offset of the record in the (decompressed) stream.
        source: always ``"aws_cloudtrail"``.
        silenced: True only from a scanner made with ``no_correlation=True``,
            for a match that ``generate: false`` of the correlations naming
            its rule would have kept quiet: it feeds a correlation elsewhere
            and is not to be shown (``ctr_match_silenced``).
    """

    # An Alert made by a scan holds its record, output, fields and the match
    # saved for its JSON line in one bytes object, _pack, until one of them
    # is first read (ctrule.i: ctrpy_alert_unpack fills _raw, _saved,
    # _output and _fields at once): making them for every alert was 0.4 us
    # of the 2 us an alert added to a scan (docs/performance.md, stop 17).
    # The line itself is written from _saved when to_json() first asks for
    # it: writing it for every alert was a third of what an alert cost
    # (stop 23).
    __slots__ = ("rule", "priority", "_output", "tags", "_fields", "time_ns", "_raw",
                 "record_index", "byte_offset", "silenced", "_event", "_json", "_saved", "_pack")

    source = "aws_cloudtrail"

    rule: str
    priority: Priority
    tags: tuple[str, ...]
    time_ns: int
    record_index: int
    byte_offset: int
    silenced: bool
    _output: str
    _fields: dict[str, str | None]
    _raw: bytes
    _event: dict[str, Any] | None
    _json: bytes | str | None
    _saved: bytes | None
    _pack: bytes | None

    def __init__(self, rule: str, priority: int, output: str, tags: tuple[str, ...],
                 fields: dict[str, str | None], time_ns: int, raw: bytes,
                 record_index: int = 0, byte_offset: int = 0,
                 json_line: bytes | str | None = None, silenced: bool = False) -> None:
        self.rule = rule
        self.priority = _PRIORITIES[priority] if 0 <= priority < 8 else Priority(priority)
        self._output = output
        self.tags = tags if type(tags) is tuple else tuple(tags)
        self._fields = fields
        self.time_ns = time_ns
        self._raw = raw
        self.record_index = record_index
        self.byte_offset = byte_offset
        self.silenced = silenced
        self._event = None
        self._json = json_line
        self._saved = None
        self._pack = None

    @property
    def output(self) -> str:
        """The rule's output template rendered Falco's way."""
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        return self._output

    @output.setter
    def output(self, value: str) -> None:
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        self._output = value

    @property
    def fields(self) -> dict[str, str | None]:
        """Falco's ``output_fields``, name to rendered value (None: absent)."""
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        return self._fields

    @fields.setter
    def fields(self, value: dict[str, str | None]) -> None:
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        self._fields = value

    @property
    def raw(self) -> bytes:
        """The raw bytes of the matching record."""
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        return self._raw

    @raw.setter
    def raw(self, value: bytes) -> None:
        if self._pack is not None:
            _capi.ctrpy_alert_unpack(self)
        self._raw = value

    def _line(self) -> bytes | str | None:
        if self._pack is not None or self._saved is not None:
            # Unpacks and writes the line from the saved match in one C call
            # (the GIL held throughout: another thread sees all or nothing).
            return _capi.ctrpy_alert_line(self)
        return self._json

    @property
    def time(self) -> _dt.datetime | None:
        """The record's eventTime as an aware UTC datetime (microsecond
        precision), or None when the record has no valid eventTime."""
        if not self.time_ns:
            return None
        return _EPOCH + _dt.timedelta(microseconds=self.time_ns // 1000)

    @property
    def event(self) -> dict[str, Any]:
        """The matching record parsed as JSON (parsed on first access, cached)."""
        if self._event is None:
            self._event = json.loads(self.raw)
        return self._event

    def field(self, name: str) -> str | None:
        """The rendered value of output field ``name`` (None when absent).

        Raises:
            KeyError: ``name`` is not a field of the rule's output.
        """
        return self.fields[name]

    def to_json(self, hostname: str | None = None) -> str:
        """The alert as one line of Falco's JSON output (no newline), the
        same bytes the ``ctrule`` CLI, the Go binding and the SQS worker
        write for it (the library's ``ctr_match_json``; docs/alert-format.md):
        hostname, output (with Falco's time and priority prefix), typed
        output_fields (with ``evt.time`` and ``ct.id``), priority, rule,
        source, tags and time. ``hostname`` replaces this host's name.

        Raises:
            ValueError: the alert was not made by a scan (built by hand).
        """
        line = self._line()
        if line is None:
            raise ValueError("only an alert made by a scan has Falco's JSON line")
        if isinstance(line, bytes):  # as the library gave it: decoded once, when asked for
            line = self._json = line.decode("utf-8")
        if hostname is None:
            return line
        d = json.loads(line)
        d["hostname"] = hostname
        return json.dumps(d, separators=(",", ":"), ensure_ascii=False, sort_keys=True)

    def to_dict(self, hostname: str | None = None) -> dict[str, Any]:
        """:meth:`to_json` parsed: Falco's alert as a dict."""
        return dict(json.loads(self.to_json(hostname)))

    def _key(self) -> tuple[Any, ...]:
        return (self.rule, self.priority, self.output, self.tags, self.fields, self.time_ns,
                self.raw, self.record_index, self.byte_offset, self.silenced)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Alert):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Alert, (self.rule, int(self.priority), self.output, self.tags, self.fields,
                        self.time_ns, self.raw, self.record_index, self.byte_offset, self._line(),
                        self.silenced))

    def __repr__(self) -> str:
        return (f"Alert(rule={self.rule!r}, priority={self.priority.name}, "
                f"record_index={self.record_index}, output={self.output!r})")


# Alerts made by a scan are built in C (ctrule.i: ctrpy_match_alert), their
# slots set as __init__ sets them (the record, the saved match, output and
# fields packed until read): in Python, __init__ and its argument tuple were
# half of what an alert added to a scan.
_capi.ctrpy_alert_setup(Alert, _PRIORITIES)
