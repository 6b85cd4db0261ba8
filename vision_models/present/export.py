"""Writing frames for other programs: CSV that a spreadsheet opens safely, and JSON records.

Model names and descriptions come from a remote catalog, so a cell such as
``=HYPERLINK(...)`` is someone else's text. By default every text cell that a
spreadsheet would read as a formula gets a leading single quote, as OWASP's
CSV-injection guidance advises; numbers are left as numbers. "Read as a
formula" is judged as a spreadsheet reads: the first character after any
blanks, no-break or zero-width spaces and byte-order marks is ``=``, ``+``,
``-``, ``@`` (or their full-width forms), a tab, CR, LF or NUL. A cell holding
``;`` (the field separator of European spreadsheets, which split on it) has
each ``;``-separated part judged alike and quoted where it needs it. Text is
text whatever its dtype (object, ``str``, ``string``, a categorical's text
categories); a number such as ``-1.5`` in a numeric column is never quoted.

A file (CSV or JSON) is written beside its target and renamed over it once
complete, so a failure (a full disk, an encoding error, Ctrl-C) never leaves a
truncated file. Only a
regular file is ever replaced, keeping its permission bits: a symbolic link to
one is written through, as ``cp`` does (the link stays, the file it leads to
gets the new content). A directory, a FIFO, a device (``/dev/null``,
``/dev/stdout``: print CSV with ``--format csv`` instead), a socket, a file
without write permission, and a link that leads nowhere (refused, as GNU
``cp`` refuses it) or round in a loop are refused with an
:class:`UnsafeTarget` naming the path, and left as they were.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..text import replace_lone_surrogates

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: What a spreadsheet skips before the first character it reads: blanks (NBSP and
#: the other Unicode spaces), zero-width characters and the byte-order mark.
_INVISIBLE = " \u00a0\u1680\u180e\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\x0b\x0c"
_FORMULA = re.compile(f"^[{_INVISIBLE}]*[{re.escape(''.join(FORMULA_STARTS))}]")
LIST_SEPARATOR = "|"
CRLF = "\r\n"


def export_csv(frame: pd.DataFrame, path: str | os.PathLike | io.TextIOBase, *, safe: bool = True) -> Path | None:
    """Write ``frame`` as UTF-8 CSV with a header; returns the path written (None for a stream).

    Lists are joined with ``|``, datetimes are ISO 8601 UTC, prices are plain
    decimals (their unit is in the column name). Rows end in CRLF as RFC 4180
    says, which also makes the writer quote any cell holding a bare carriage
    return. ``safe=False`` keeps text exactly as it came, formulas included.
    A path that is not a regular file, a new one or a link to one raises
    :class:`UnsafeTarget` and is left as it was (see the module notes).
    """
    if isinstance(path, (str, os.PathLike)):
        target = Path(path).expanduser()
        with atomic_text_file(target) as out:
            csv_ready(frame, safe=safe).to_csv(out, index=False, lineterminator=CRLF, float_format=_plain_decimal)
        return target
    csv_ready(frame, safe=safe).to_csv(path, index=False, lineterminator=CRLF, float_format=_plain_decimal)
    return None


class UnsafeTarget(OSError):
    """A path that export will not replace (see the module notes); ``strerror`` says why, ``filename`` names it."""


#: What a path is when it is neither a regular file nor a directory.
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))  # fmt: skip


def writable_target(path: str | os.PathLike) -> Path:
    """The regular file to replace when writing ``path``: itself, a new file, or the file its symbolic link leads to.

    Anything else raises :class:`UnsafeTarget` before a byte is written, since
    a rename over it would put a regular file in its place (and opening a FIFO
    to write can wait for a reader for ever).
    """
    path = Path(path)
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return path  # a new file (a missing folder is the writer's error to report)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise UnsafeTarget(errno.ENOENT, "a symbolic link to nothing: not followed, left as it is", str(path)) from None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise UnsafeTarget(errno.ELOOP, "a loop of symbolic links, left as it is", str(path)) from None
    if stat.S_ISDIR(status.st_mode):
        raise UnsafeTarget(errno.EISDIR, "a directory, not a file: left as it is", str(path))
    for test, kind in _KINDS:
        if test(status.st_mode):
            raise UnsafeTarget(errno.EINVAL, f"{kind}, not a regular file: left as it is", str(path))
    target = Path(os.path.realpath(path, strict=True)) if link else path
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise UnsafeTarget(errno.EACCES, "a read-only file: left as it is", str(path))
    return target


class atomic_text_file:
    """A UTF-8 text file written beside ``path`` (or the file its link leads to) and renamed over it once complete.

    On any error the temporary file is removed and the file is left as it was.
    A file that was there keeps its permission bits (and, where allowed, owner).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target = writable_target(path)

    def __enter__(self) -> io.TextIOWrapper:
        self.file = self._open()
        return self.file

    def _open(self):
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        self.temporary = Path(name)
        return open(fd, "w", encoding="utf-8", newline="")

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if kind is None:
                self._take_over()
        finally:
            self.temporary.unlink(missing_ok=True)
            if not self.file.closed:
                self.file.close()

    def _take_over(self) -> None:
        """Give the finished file the old one's mode, then rename it over the target (checked again: it may have changed)."""
        if writable_target(self.path) != self.target:
            raise UnsafeTarget(errno.EAGAIN, "changed while it was being written: left as it is", str(self.path))
        try:
            old = os.stat(self.target)
        except FileNotFoundError:
            os.chmod(self.temporary, 0o666 & ~_umask())
        else:
            try:
                os.chown(self.temporary, old.st_uid, old.st_gid)  # first: a change of owner clears set-id bits
            except PermissionError:
                pass  # only root may give a file away; the mode is kept all the same
            os.chmod(self.temporary, stat.S_IMODE(old.st_mode))
        os.replace(self.temporary, self.target)


class atomic_binary_file(atomic_text_file):
    """:class:`atomic_text_file` for bytes (a chart's PNG): written beside the target, renamed over it once complete."""

    def __enter__(self) -> io.BufferedWriter:  # type: ignore[override]
        self.file = self._open()
        return self.file

    def _open(self):
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        self.temporary = Path(name)
        return open(fd, "wb")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def to_csv_text(frame: pd.DataFrame, *, safe: bool = True) -> str:
    """The CSV that :func:`export_csv` writes, as a string."""
    buffer = io.StringIO()
    export_csv(frame, buffer, safe=safe)
    return buffer.getvalue()


def csv_ready(frame: pd.DataFrame, *, safe: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` with every cell as a spreadsheet should get it."""
    return pd.DataFrame({name: _csv_cells(column, safe) for name, column in frame.items()}, index=frame.index)


def _csv_cells(column: pd.Series, safe: bool) -> pd.Series | list[object]:
    """One column for CSV, by dtype: a categorical's cells are judged as its categories' dtype would be.

    Text of every kind (object, ``str``, ``string[python]``, ``string[pyarrow]``)
    is checked for formulas; numbers stay numbers, so ``-1.5`` is never quoted.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        present = codes >= 0  # -1: a missing cell (Index.take's filling differs between pandas 2 and 3: not used)
        values = pd.Series(
            column.cat.categories.take(np.where(present, codes, 0)), index=column.index, name=column.name
        )
        if pd.api.types.is_integer_dtype(values.dtype):
            values = values.astype("Int64")  # whole numbers stay whole when a cell is missing
        return _csv_cells(values.where(present), safe)
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
        return column.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        return _text_cells(column, safe)
    return column


def neutralise_formulas(values: Iterable[object]) -> list[object]:
    """Prefix text that a spreadsheet would run as a formula with a single quote (see the module notes)."""
    return [neutralise_formula(v) if isinstance(v, str) else v for v in values]


def neutralise_formula(text: str) -> str:
    """One cell: a single quote before it, or before each ``;``-separated part a spreadsheet would run."""
    if ";" in text:
        return ";".join(f"'{part}" if _FORMULA.match(part) else part for part in text.split(";"))
    return f"'{text}" if _FORMULA.match(text) else text


def to_json_records(frame: pd.DataFrame) -> str:
    """JSON array of row objects: plain JSON any parser reads (missing values, NaN and infinities are ``null``).

    Datetimes are ISO 8601 UTC, lists are arrays, text is itself (non-ASCII
    unescaped, slashes as they are: ``"openai/gpt-4o"``), a lone surrogate U+FFFD.
    """
    records = frame.to_json(orient="records", date_format="iso", date_unit="s", force_ascii=False, double_precision=15)
    return replace_lone_surrogates(json.dumps(json.loads(records), ensure_ascii=False))


def export_json(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` to ``path`` as UTF-8 :func:`to_json_records` (and a newline); returns the path written.

    Written as :func:`export_csv` writes: beside the target and renamed over it
    once complete, and only over a regular file (see the module notes).
    """
    target = Path(path).expanduser()
    text = to_json_records(frame)
    with atomic_text_file(target) as out:
        out.write(text + "\n")
    return target


def _text_cells(column: pd.Series, safe: bool) -> list[object]:
    """Lists joined, objects (a trial's parsed answers) as JSON, lone surrogates (which no UTF-8 encoder takes) as
    U+FFFD, formulas neutralised."""
    values = [
        LIST_SEPARATOR.join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray))
        else json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict) else v
        for v in column.tolist()
    ]  # fmt: skip
    values = [replace_lone_surrogates(v) if isinstance(v, str) else v for v in values]
    return neutralise_formulas(values) if safe else values


def _plain_decimal(value: float) -> str:
    """Floats without exponent or float noise: 2.5e-07 USD is written 0.00000025."""
    return np.format_float_positional(value, precision=12, unique=True, trim="-")
