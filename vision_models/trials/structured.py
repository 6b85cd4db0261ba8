"""Asking for JSON: the request's ``response_format`` or the schema in the prompt, and a row's stored scores.

A model whose catalog entry lists ``structured_outputs`` (or ``response_format``) among its supported
parameters is sent ``response_format = {"type": "json_schema", "json_schema": {"name", "strict": true,
"schema"}}`` with the plain prompt; any other model gets the schema in the prompt
(:func:`prompt_with_schema`). Either way the request's key holds the schema's hash, so another schema is
another row, and a row's answer keeps its raw text beside the parsed object.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .extraction import score_answer
from .failures import classify
from .schema_check import schema_dict

#: What the prompt says before the schema, for a model without structured outputs.
SCHEMA_INSTRUCTION = (
    "Answer with one JSON object only (no prose, no code fence) that matches this JSON Schema; use null for a "
    "field the page does not show:"
)
#: The columns a page row stores beside its text when the trial has a schema or a truth.
SCORE_FIELDS = ("repeat", "parsed", "json_valid", "fields_total", "fields_correct", "field_accuracy", "critical_ok",
                "field_errors", "truncated", "looped", "empty", "refused", "ok")  # fmt: skip


def schema_json(schema: Any) -> str:
    """The schema as compact, key-sorted JSON (what is hashed and sent)."""
    return json.dumps(schema_dict(schema), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_sha256(schema: Any) -> str:
    return hashlib.sha256(schema_json(schema).encode("utf-8")).hexdigest()


def prompt_with_schema(prompt: str, schema: Any) -> str:
    """The prompt a model without structured outputs is sent: the prompt, the instruction, the schema."""
    return f"{prompt}\n\n{SCHEMA_INSTRUCTION}\n{schema_json(schema)}"


def response_format(schema: Any) -> dict[str, Any]:
    """The ``response_format`` of a request to a model with structured outputs."""
    body = schema_dict(schema)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(body.get("title") or "extraction"))[:64] or "extraction"
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": body}}


def structured_models(table: pd.DataFrame, models: Sequence[str]) -> dict[str, bool]:
    """Model id -> whether its catalog entry lists structured outputs (False when the catalog does not say)."""
    if table.empty or "structured_outputs" not in table:
        return dict.fromkeys(models, False)
    listed = dict(zip(table["id"].tolist(), table["structured_outputs"].fillna(False).astype(bool).tolist()))
    return {m: bool(listed.get(m, False)) for m in models}


@dataclass(frozen=True)
class Scoring:
    """What a run scores its page rows against as they are stored: the truths, the schema, the critical fields,
    the field kinds, and ``parser`` (text, page name) -> object for Tesseract's plain text."""

    truths: Mapping[str, Any] = field(default_factory=dict)
    schema: Any = None
    critical: Sequence[str] = ()
    fields: Mapping[str, str] | None = None
    parser: Callable[[str, str], Any] | None = None

    def scores(self, page: str, model: str, text: str | None, finish_reason: str | None, error: str | None) -> dict:
        """The stored evidence of one page row (see :func:`row_scores`)."""
        if self.parser is not None and model == "tesseract" and isinstance(text, str) and error is None:
            text = json.dumps(self.parser(text, page), ensure_ascii=False, default=str)
        return row_scores(text, finish_reason, error, truth=self.truths.get(page), schema=self.schema,
                          critical=self.critical, fields=self.fields)  # fmt: skip


def row_scores(text: str | None, finish_reason: str | None, error: str | None, *, truth: Any = None,
               schema: Any = None, critical: Sequence[str] = (), fields: Mapping[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The stored evidence of one answered row: the parsed object (JSON text), its scores and its failure flags."""
    out: dict[str, Any] = dict.fromkeys(SCORE_FIELDS[1:])
    valid = None
    if schema is not None and isinstance(text, str) and error is None:
        parsed, score = score_answer(text, truth if truth is not None else {}, schema=schema, fields=fields,
                                     critical=critical if truth is not None else ())  # fmt: skip
        valid = score.json_valid
        out["parsed"] = None if parsed is None else json.dumps(parsed, ensure_ascii=False)
        out["json_valid"] = None if valid is None else int(valid)
        if truth is not None:
            out.update(fields_total=score.fields_total, fields_correct=score.fields_correct,
                       field_accuracy=score.field_accuracy, critical_ok=int(score.critical_ok),
                       field_errors=score.field_errors)  # fmt: skip
    failures = classify(text, finish_reason, error=error, json_valid=valid)
    out.update(truncated=int(failures.truncated), looped=int(failures.looped), empty=int(failures.empty),
               refused=int(failures.refused), ok=int(failures.ok))  # fmt: skip
    return out
