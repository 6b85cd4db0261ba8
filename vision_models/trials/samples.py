"""Structured truth for the bundled sample pages, their schemas, and a rule-based parser for transcripts.

``invoice.json`` and ``delivery-note.json`` sit beside the sample pages (:data:`~.pages.SAMPLE_DIR`), one
expected object each. :func:`parse_sample_text` turns a plain transcript of either page (Tesseract's, say)
into an object of the same shape with a few regular expressions, so extraction can be scored offline:
``score_answer(json.dumps(parse_sample_text(text, "invoice")), sample_truth("invoice"))``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .normalise import parse_number
from .pages import SAMPLE_DIR

_STRING, _NUMBER = {"type": "string"}, {"type": "number"}
_DATE = {"type": "string", "description": "ISO 8601 date, YYYY-MM-DD"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


#: What an invoice's answer must look like (the JSON Schema a trial sends).
INVOICE_SCHEMA: dict[str, Any] = {
    "title": "invoice",
    **_object({
        "invoice_number": _STRING, "invoice_date": _DATE, "due_date": _DATE, "supplier": _STRING, "customer": _STRING,
        "currency": {"type": "string", "description": "ISO 4217 code"},
        "line_items": {"type": "array", "items": _object({"description": _STRING, "quantity": _NUMBER,
                                                           "unit_price": _NUMBER, "amount": _NUMBER})},
        "subtotal": _NUMBER, "vat": _NUMBER, "total": _NUMBER,
    }),
}  # fmt: skip

#: What a delivery note's answer must look like.
DELIVERY_NOTE_SCHEMA: dict[str, Any] = {
    "title": "delivery_note",
    **_object({
        "delivery_note_number": _STRING, "supplier": _STRING, "deliver_to": _STRING, "order_date": _DATE,
        "delivery_date": _DATE, "driver": _STRING,
        "line_items": {"type": "array", "items": _object({"item_code": _STRING, "description": _STRING,
                                                           "quantity": _NUMBER})},
    }),
}  # fmt: skip

SAMPLE_SCHEMAS = {"invoice": INVOICE_SCHEMA, "delivery-note": DELIVERY_NOTE_SCHEMA}


def sample_truth(name: str) -> dict[str, Any]:
    """The expected object of a sample page (``"invoice"`` or ``"delivery-note"``)."""
    if name not in SAMPLE_SCHEMAS:
        raise ValueError(f"no structured truth for sample {name!r}: one of {', '.join(SAMPLE_SCHEMAS)}")
    return json.loads((SAMPLE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def parse_sample_text(text: str, name: str) -> dict[str, Any]:
    """A transcript of a sample page as its object, by rules (fields it cannot find are left out)."""
    if name == "invoice":
        return _parse_invoice(text)
    if name == "delivery-note":
        return _parse_delivery_note(text)
    raise ValueError(f"no parser for sample {name!r}: one of {', '.join(SAMPLE_SCHEMAS)}")


def _find(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
    return match.group(1).strip() if match else None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_invoice(text: str) -> dict[str, Any]:
    lines = _lines(text)
    out: dict[str, Any] = {
        "invoice_number": _find(r"invoice (?:number|no\.?)\s*:?\s*(\S+)", text),
        "invoice_date": _find(r"invoice date\s*:?\s*(.+)$", text),
        "due_date": _find(r"due date\s*:?\s*(.+)$", text),
        "supplier": lines[0] if lines else None,
        "customer": _find(r"bill to\s*:?\s*\n\s*(?:\n\s*)*(.+)$", text),
        "currency": _find(r"total[^\n(]*\((\w{3})\)", text),
    }
    item = re.compile(r"^(.*\S)\s+([\d.,]+)\s+([\d.,]+)\s+([\d.,]+)$")
    head = next((i for i, line in enumerate(lines) if line.lower().startswith("description")), len(lines))
    out["line_items"] = [
        {"description": m[1], "quantity": parse_number(m[2]), "unit_price": parse_number(m[3]),
         "amount": parse_number(m[4])}
        for m in (item.match(line) for line in lines[head + 1 :])
        if m
    ]  # fmt: skip
    for name, pattern in (("subtotal", r"^subtotal\s+([\d.,]+)"), ("vat", r"^vat\b.*?([\d.,]+)\s*$"),
                          ("total", r"^total[^\n]*?([\d.,]+)\s*$")):  # fmt: skip
        out[name] = parse_number(_find(pattern, text))
    return {k: v for k, v in out.items() if v is not None}


def _parse_delivery_note(text: str) -> dict[str, Any]:
    lines = _lines(text)
    out: dict[str, Any] = {
        "delivery_note_number": _find(r"delivery note\s+(\S+)", text),
        "supplier": lines[0] if lines else None,
        "deliver_to": _find(r"deliver to\s*:\s*([^,\n]+)", text),
        "order_date": _find(r"order date\s*:\s*([^,\n]+)", text),
        "delivery_date": _find(r"delivery date\s*:\s*([^,\n]+)", text),
        "driver": _find(r"driver\s*:\s*([^,\n]+)", text),
    }
    item = re.compile(r"^([A-Z]{2,}-\d+)\s+(.*\S)\s+(\d+)$")
    out["line_items"] = [
        {"item_code": m[1], "description": m[2], "quantity": parse_number(m[3])}
        for m in (item.match(line) for line in lines)
        if m
    ]
    return {k: v for k, v in out.items() if v is not None}
