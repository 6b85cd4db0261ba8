"""Chat completions for a trial: the request body, the sender with its retries, and the bill read from an answer.

The transport (one POST whose fate is known) is :mod:`.client`; here is what a trial sends over it and what it
believes of the answer: a ``usage`` that is not believable never credits the budget.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from . import client as sending
from .plan import (
    BILLED_FROM_COST,
    BILLED_FROM_TOKENS,
    CONNECT_TIMEOUT,
    CONTROL_MAX_TOKENS,
    MAX_ERROR_CHARS,
    PageTask,
    Task,
    _Prices,
)

# ---------------------------------------------------------------- answers


@dataclass
class _Answer:
    """What one request (with its retries) came to, ready to be stored."""

    status: str  # ok | error
    error: str | None = None
    text: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None  # usage.completion_tokens_details.reasoning_tokens (inside completion_tokens)
    billed_usd: float | None = None  # what the provider reported (or tokens x catalog prices)
    billed_source: str | None = None
    unknown_usd: float = 0.0  # reserves kept as spent: may have been billed, amount unknown
    paid: bool = False  # the provider may have billed it: never send again unless asked
    latency_s: float | None = None
    attempts: int = 0
    generation_id: str | None = None
    finish_reason: str | None = None
    sent: bool = False  # at least one attempt reached the socket
    confidence: float | None = None  # Tesseract's mean word confidence, on its own answers

    @property
    def cost_status(self) -> str:
        """``unknown`` (some of it may have been billed unseen), ``billed``, or ``none`` (nothing billed)."""
        if self.unknown_usd > 0 or (self.paid and self.billed_usd is None):
            return "unknown"
        return "billed" if self.billed_usd is not None else "none"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


#: Bounds of a believable bill: no request has more tokens, no single page costs more.
MAX_SANE_TOKENS = 100_000_000
MAX_SANE_USD = 1_000.0


def _sane_usd(value: object) -> float | None:
    """A bill as given (a number, or text that is one), or None when it is not a believable amount of USD."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        amount = float(value)
    except OverflowError:
        return None
    return amount if math.isfinite(amount) and 0.0 <= amount <= MAX_SANE_USD else None


def _sane_tokens(value: object) -> int | None:
    """A token count: a whole number from 0 to :data:`MAX_SANE_TOKENS`, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_SANE_TOKENS:
        return value
    return None


def _usage_cost(payload: object) -> tuple[float | None, bool]:
    """(the bill in ``usage.cost``, whether a cost was given at all) of an answer's JSON."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict) or "cost" not in usage or usage.get("cost") is None:
        return None, False
    return _sane_usd(usage["cost"]), True


def _error_message(status: int, body: bytes, reason: str) -> str:
    payload = _json(body)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_ERROR_CHARS]
        if isinstance(error, str):
            return error[:MAX_ERROR_CHARS]
    return (reason or http.client.responses.get(status, "error"))[:MAX_ERROR_CHARS]


def _read_answer(body: bytes, prices: _Prices) -> _Answer:
    """A 2xx answer: the text, the usage and the bill (None when unknown); or what is wrong with it."""
    payload = _json(body)
    if not isinstance(payload, dict):
        start = body[:40].decode("utf-8", "replace")
        return _Answer(
            "error", error=f"malformed answer: not a JSON object (starts {start!r}); cost unknown", paid=True
        )
    usage = _object(payload.get("usage"))
    prompt_tokens = _sane_tokens(usage.get("prompt_tokens"))
    completion_tokens = _sane_tokens(usage.get("completion_tokens"))
    reasoning_tokens = _sane_tokens(_object(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    cost, cost_given = _usage_cost(payload)
    insane = ""
    if cost is not None:
        billed, source = cost, BILLED_FROM_COST
    elif cost_given:
        billed, source = None, None
        insane = f"usage.cost {str(usage.get('cost'))[:40]!r} is not a believable amount of USD"
    elif prompt_tokens is not None and completion_tokens is not None:
        billed = prompt_tokens * prices.prompt + completion_tokens * prices.completion + prices.request
        source = BILLED_FROM_TOKENS if billed == billed else None
        billed = billed if billed == billed else None
    else:
        billed, source = None, None
        if usage:
            insane = "usage holds no believable token counts"
    answer = _Answer("error", prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                     reasoning_tokens=reasoning_tokens, billed_usd=billed,
                     billed_source=source, paid=True,
                     generation_id=str(payload.get("id"))[:100] if payload.get("id") else None)  # fmt: skip
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        answer.error = f"no choices in the answer{': ' + str(message)[:MAX_ERROR_CHARS] if message else ''}"
        answer.paid = bool(usage)  # an error without usage was most likely not billed: a later run may try again
        return answer
    choice = choices[0]
    answer.finish_reason = str(choice.get("finish_reason"))[:40] if choice.get("finish_reason") is not None else None
    message = _object(choice.get("message"))
    text = _content_text(message.get("content"))
    if choice.get("finish_reason") == "content_filter" or (text is None and choice.get("error")):
        answer.error = "content filter: the provider withheld the answer"
        answer.text = text
        return answer
    answer.text = text if text is not None else ""
    if billed is None:
        answer.error = (f"billed cost unknown: {insane} (counted as its reserve)" if insane else
                        "the answer has no usage: billed cost unknown (counted as its reserve)")  # fmt: skip
        return answer
    answer.status = "ok"
    return answer


def _object(value: object) -> dict:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _content_text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some providers answer in parts
        parts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts)
    return None


def _body(
    task: Task, prompt: str, max_tokens: int, reasoning_effort: str | None = None, response_format: dict | None = None
) -> dict:
    """The request; a page carries OpenRouter's ``reasoning`` parameter when an effort is chosen (the control never),
    and ``response_format`` when the answer is asked for as JSON by the API."""
    content: list[dict] = [{"type": "text", "text": prompt}]
    if isinstance(task, PageTask):
        content.append({"type": "image_url", "image_url": {"url": task.page.data_url()}})
    body = {
        "model": task.model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens if isinstance(task, PageTask) else CONTROL_MAX_TOKENS,
        "temperature": 0,
    }
    if reasoning_effort is not None and isinstance(task, PageTask):
        body["reasoning"] = {"effort": reasoning_effort}
    if response_format is not None:
        body["response_format"] = response_format
    return body


class _Sender:
    """Posts chat completions one attempt at a time (:mod:`vision_models.trials.client`); shared by the run's threads."""

    def __init__(self, *, base_url: str, api_key: str | None, timeout: float, retries: int, retry_window_s: float,
                 stop: threading.Event) -> None:  # fmt: skip
        self.url = f"{base_url}/chat/completions"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.retry_window_s = retry_window_s
        self.stop = stop
        self.watchdog = sending.Watchdog()
        self.requests = 0
        self._lock = threading.Lock()

    def post(self, data: bytes) -> sending.Outcome:
        headers = {"Content-Type": "application/json", "X-Title": "vision_models trial"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        outcome = sending.post(self.url, data, headers, timeout=self.timeout, connect_timeout=CONNECT_TIMEOUT,
                               watchdog=self.watchdog)  # fmt: skip
        if outcome.phase != sending.NOT_SENT:
            with self._lock:
                self.requests += 1
        return outcome

    def abort(self) -> None:
        """Abandon every request in flight (their rows become ``unknown`` cost) and send no more."""
        self.stop.set()
        self.watchdog.abort()
