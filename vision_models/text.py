"""Remote text made safe for where it goes: a terminal, a log line, a UTF-8 encoder.

Catalog ids, names and request paths are someone else's text. Printed raw, an
escape sequence (``ESC [ 31 m``) recolours or rewrites the user's terminal and
a line feed forges a log line; a lone surrogate (``"\\ud800"`` in JSON) is a
``str`` that no UTF-8 encoder accepts.
"""

from __future__ import annotations

import re
import unicodedata

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def terminal_safe(text: object) -> str:
    """``text`` with every character a terminal would not print as itself written as a visible escape.

    Controls (C0, DEL, C1: ``ESC [ 31 m``, CR, BEL), format characters (the
    bidirectional overrides that reorder what a reader sees, zero-width
    characters), line separators and lone surrogates all count:
    ``"a\\x1b[31mb"`` becomes ``"a\\\\x1b[31mb"``, so the bytes a reader sees are
    the bytes that were there, and nothing reaches the terminal as a command.
    Unusual spaces (no-break, thin) are shown as a plain space.
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if unicodedata.category(ch) == "Zs":
        return " "
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate code point (which UTF-8 cannot encode)."""
    return _SURROGATE.search(text) is not None


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a valid pair never reaches a ``str`` from JSON)."""
    return _SURROGATE.sub(REPLACEMENT, text)
