"""Remote text made safe for where it goes: a terminal, a log line, a UTF-8 encoder, a notebook's HTML.

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
#: The classes that keep MathJax off an HTML element's text, so "$0.06 / $0.24" stays two prices and is not
#: typeset as a formula: MathJax 3 (JupyterLab 4, Notebook 7) skips ``mathjax_ignore``, MathJax 2 (classic
#: Notebook, nbviewer) ``tex2jax_ignore``. HTML escaping cannot do it: MathJax reads the text after the
#: browser has decoded ``&#36;`` back to ``$``.
NO_MATH = "tex2jax_ignore mathjax_ignore"


def no_math(fragment: str) -> str:
    """An HTML fragment in a ``div`` that MathJax leaves alone (:data:`NO_MATH`); escape remote text first."""
    return f'<div class="{NO_MATH}">{fragment}</div>'


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
