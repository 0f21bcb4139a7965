"""Exceptions raised by the ctrule package."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Sequence

from . import _capi

if TYPE_CHECKING:  # pragma: no cover
    from ._model import Diagnostic, RecordError

__all__ = ["CtruleError", "RulesError", "RulesFileNotFoundError", "BadRecordError", "StreamError",
           "NoRecordsError", "EmptyInputWarning", "StopScan"]


class CtruleError(Exception):
    """Base class of every error reported by libctrule.

    Attributes:
        status: the library's status code (a negative ``CTR_E*`` value).
        status_name: its symbolic name without prefix, e.g. ``"ESYNTAX"``.
    """

    status: int
    status_name: str

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.status_name = _capi.ctr_status_name(status)
        super().__init__(message if message is not None else _capi.ctr_strerror(status))


class RulesError(CtruleError):
    """Rules could not be loaded or compiled.

    ``str(error)`` lists every error diagnostic as ``file:line:col: error:
    message``. The position of the first error is also available directly.

    Attributes:
        diagnostics: every diagnostic of the failed step (errors and warnings),
            in the order the library produced them.
        errors: the error diagnostics only.
        file, line, column, code, message: those of the first error
            (line and column are 1-based, 0 when unknown).
    """

    diagnostics: list[Diagnostic]
    errors: list[Diagnostic]
    file: str | None
    line: int
    column: int
    code: str | None
    message: str | None

    def __init__(self, status: int, diagnostics: Sequence[Diagnostic],
                 message: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        self.errors = [d for d in self.diagnostics if d.is_error]
        first = self.errors[0] if self.errors else None
        self.file = first.file if first else None
        self.line = first.line if first else 0
        self.column = first.column if first else 0
        self.code = first.code if first else None
        self.message = first.message if first else None
        text = message or "\n".join(d.text for d in self.errors) or _capi.ctr_strerror(status)
        super().__init__(status, text)


class RulesFileNotFoundError(RulesError, FileNotFoundError):
    """A rules file does not exist: both a :class:`RulesError` (status
    ``EIO``, code ``LOAD_ERR_FILE_READ``, with the diagnostics) and a
    built-in :class:`FileNotFoundError` (``errno.ENOENT``, ``filename``), so
    ``except FileNotFoundError`` catches it as it catches a missing file
    anywhere else."""

    def __init__(self, status: int, diagnostics: Sequence[Diagnostic], path: str) -> None:
        RulesError.__init__(self, status, diagnostics)
        self.errno = errno.ENOENT
        self.strerror = os.strerror(errno.ENOENT)
        self.filename = path

    def __str__(self) -> str:
        return RulesError.__str__(self)


class BadRecordError(CtruleError):
    """A record could not be evaluated (raised by scanners in strict mode).

    Attributes:
        error: the :class:`~ctrule.RecordError` reported by the library.
        index: 0-based index of the record in the stream.
        offset: its byte offset in the (decompressed) stream.
    """

    error: RecordError
    index: int
    offset: int

    def __init__(self, error: RecordError) -> None:
        self.error = error
        self.index = error.index
        self.offset = error.offset
        super().__init__(error.status, error.text)


class StreamError(CtruleError):
    """The input stream itself is unreadable (for instance a corrupt gzip
    stream): the scanner cannot go on with this stream.

    Attributes:
        offset: byte offset where the stream broke, when the library reported it.
    """

    offset: int | None

    def __init__(self, status: int, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(status, message)


class NoRecordsError(CtruleError):
    """An input held values but not one complete CloudTrail record (every
    value a bad record, or JSON without the CloudTrail keys): the data is
    not CloudTrail. Raised by ``finish`` (and so by ``scan``) after every
    alert found was delivered; status ``EDATA``. See docs/bad-input.md.

    Attributes:
        records: values read (records framed).
        bad: those that were not a JSON record.
        incomplete: those without the CloudTrail keys.
    """

    records: int
    bad: int
    incomplete: int

    def __init__(self, records: int, bad: int, incomplete: int) -> None:
        self.records, self.bad, self.incomplete = records, bad, incomplete
        super().__init__(_capi.CTR_EDATA,
                         f"no CloudTrail record in this input ({records} "
                         f"{'value' if records == 1 else 'values'}: {bad} not a JSON record, "
                         f"{incomplete} without the CloudTrail keys)")


class EmptyInputWarning(UserWarning):
    """An input had no record in it at all (no bytes, only whitespace,
    ``[]``, ``{"Records":[]}``): warned through :mod:`warnings` by
    ``finish``/``scan``. See docs/bad-input.md."""


class StopScan(Exception):
    """Raise from a match callback to stop the scan cleanly.

    The scan then ends as if the callback had returned ``True``: no exception
    reaches the caller, and ``Scanner.feed``/``finish`` return ``False``.
    """
