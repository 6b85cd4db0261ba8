"""Remote text made safe for where it goes: a terminal, a log line, a UTF-8 encoder.

Catalog ids, names and request paths are someone else's text. Printed raw, an
escape sequence (``ESC [ 31 m``) recolours or rewrites the user's terminal and
a line feed forges a log line; a lone surrogate (``"\\ud800"`` in JSON) is a
``str`` that no UTF-8 encoder accepts.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls (0x80-0x9f: single-byte CSI on some terminals),
#: and the bidirectional overrides and isolates that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def terminal_safe(text: object) -> str:
    """``text`` with every control or reordering character written as a visible escape.

    ``"a\\x1b[31mb"`` becomes ``"a\\\\x1b[31mb"``: the bytes a reader sees are
    the bytes that were there, and nothing reaches the terminal as a command.
    A lone surrogate is shown as ``\\udXXX`` for the same reason.
    """
    text = str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate code point (which UTF-8 cannot encode)."""
    return _SURROGATE.search(text) is not None


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a valid pair never reaches a ``str`` from JSON)."""
    return _SURROGATE.sub(REPLACEMENT, text)
