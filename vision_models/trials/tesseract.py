"""Local OCR with the Tesseract binary: the free baseline a paid model has to beat.

``read_page`` pipes the page's encoded image (exactly the bytes a remote model is sent) to
``tesseract stdin OUT -l LANG txt tsv`` with a time-out: the text, and in the same pass the confidence of
each word (``read_page_with_confidence``). One OpenMP thread per process
(``OMP_THREAD_LIMIT=1`` unless set), so several pages can be read at once without oversubscribing.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile

from .pages import Page

INSTALL_HINT = (
    "Tesseract OCR is not installed: Debian/Ubuntu: sudo apt-get install tesseract-ocr; "
    "macOS: brew install tesseract; conda: conda install -c conda-forge tesseract"
)
_LANG = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")


def tesseract_available() -> bool:
    """Whether the ``tesseract`` binary is on PATH."""
    return shutil.which("tesseract") is not None


def tesseract_version() -> str | None:
    """The binary's version (``5.5.0``), or None when it is missing; trials record it as a parameter."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    return _version(binary)


def tesseract_languages() -> list[str]:
    """The installed language packs (``eng``, ``osd``, ...)."""
    return sorted(_languages(_binary()))


def read_page(page: Page, *, lang: str = "eng", timeout: float = 60.0) -> str:
    """The text Tesseract reads on ``page``; whitespace at the ends and the trailing form feed removed."""
    return read_page_with_confidence(page, lang=lang, timeout=timeout)[0]


def read_page_with_confidence(page: Page, *, lang: str = "eng", timeout: float = 60.0) -> tuple[str, float]:
    """The text Tesseract reads on ``page`` (as :func:`read_page`) and its mean word confidence, 0-100.

    One pass writes both the text and Tesseract's TSV (``txt tsv`` configs into a temporary folder); the
    confidence is the mean of the ``conf`` of its words (level 5, a text and a confidence of 0 or more), and
    0 when it found no word: a page it could not read at all is the least sure. Low values flag a page it read
    badly: a cascade's ``low_confidence`` signal.
    """
    if not isinstance(page, Page):
        raise ValueError(f"page must be a Page from load_pages, not {type(page).__name__}")
    if not isinstance(lang, str) or not _LANG.fullmatch(lang):
        raise ValueError(f"lang must be Tesseract language codes such as 'eng' or 'eng+deu', not {lang!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    binary = _binary()
    missing = [code for code in lang.split("+") if code not in _languages(binary)]
    if missing:
        raise ValueError(
            f"Tesseract language {missing[0]!r} is not installed (Debian/Ubuntu: apt-get install "
            f"tesseract-ocr-{missing[0]}); installed: {', '.join(sorted(_languages(binary)))}"
        )
    env = {**os.environ}
    env.setdefault("OMP_THREAD_LIMIT", "1")
    with tempfile.TemporaryDirectory(prefix="vision-models-ocr-") as folder:
        base = os.path.join(folder, "page")
        returncode, _, stderr = _run([binary, "stdin", base, "-l", lang, "txt", "tsv"], page.image, timeout, env,
                                     page.name)  # fmt: skip
        if returncode != 0:
            message = _last_line(stderr) or f"exit status {returncode}"
            raise RuntimeError(f"tesseract failed on {page.name}: {message}")
        with open(base + ".txt", "rb") as text, open(base + ".tsv", "rb") as table:
            return text.read().decode("utf-8", errors="replace").strip(), word_confidence(table.read())


def word_confidence(tsv: bytes) -> float:
    """The mean ``conf`` of the words in Tesseract's TSV output (level 5 rows with text and a conf >= 0); 0
    when there is none."""
    values = []
    for line in tsv.decode("utf-8", errors="replace").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        try:
            confidence = float(cells[10])
        except ValueError:
            continue
        if 0 <= confidence <= 100:
            values.append(confidence)
    return sum(values) / len(values) if values else 0.0


def _run(command: list[str], data: bytes, timeout: float, env: dict[str, str], name: str) -> tuple[int, bytes, bytes]:
    """Run ``command`` with ``data`` on stdin; on time-out or interrupt its whole process group is killed."""
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise RuntimeError(f"tesseract took longer than {timeout:g} s on {name}") from None
        except BaseException:
            _kill(proc)
            raise
    return proc.returncode, stdout, stderr


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError, PermissionError):  # no process groups (Windows), or gone
        proc.kill()
    proc.communicate()


def _binary() -> str:
    binary = shutil.which("tesseract")
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    return binary


@functools.cache
def _version(binary: str) -> str | None:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(rb"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", done.stdout + done.stderr)
    return match.group(1).decode() if match else None


@functools.cache
def _languages(binary: str) -> frozenset[str]:
    try:
        done = subprocess.run([binary, "--list-langs"], capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError("tesseract --list-langs took longer than 10 s") from None
    lines = (done.stdout + done.stderr).decode("utf-8", errors="replace").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("List of"))


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
