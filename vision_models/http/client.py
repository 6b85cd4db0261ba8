"""Bounded JSON over HTTP through the cache: :func:`fetch_json`, the retries, and the session per cache file.

Network failures never raise from here: they come back as a :class:`JsonAnswer` with ``error`` set, carrying
the cached copy (marked stale) when one exists.

Every fetch is bounded: one overall deadline covers connecting, every read, retries and their waits
(:mod:`.deadline`: a watchdog shuts the socket when it passes, so a server that trickles a byte every few
seconds cannot hold us); the decoded body is capped while it streams (:data:`MAX_BODY_BYTES`, so a gzip bomb
costs at most the cap); a body the reader refuses (not JSON, nested too deeply, not what was asked for) is
refused before the cache stores it. An answer of several pages (``links.next``) is read whole or not at all.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests_cache import CachedSession
from urllib3 import exceptions as urllib3_exceptions

from ..common import as_utc
from ..notices import warn_once
from ..settings import DEFAULT_DEADLINE, DEFAULT_TIMEOUT  # noqa: F401 (their old home: still importable here)
from ..text import has_lone_surrogate, replace_lone_surrogates
from .deadline import FetchTimedOut, _active, _deadline, timed_out_error
from .sessions import close_sessions, get_session, reset_session  # noqa: F401 (also importable from here)

#: Largest decoded body accepted, summed over a catalog's pages. Today's catalog
#: is under 1 MB (about 400 models); the tool is built for ten times that (about
#: 4,000 models). Anything above the cap is refused while it streams.
MAX_BODY_BYTES = 64 * 1024 * 1024

#: Most pages one catalog may span (``links.next``): 200 pages of 500 models.
MAX_PAGES = 200

_CHUNK = 64 * 1024
_ACCEPT_ENCODING = "gzip, deflate"


NETWORK_ERROR = "Network request failed"
_ENTRIES = "_vision_models_entries"


class NotACatalog(ValueError):
    """A body that is not an OpenRouter catalog response (``{"data": [...]}``).

    Also raised, with the reason, for any JSON body a reader refuses (see :func:`fetch_json`).
    """


def age_seconds(fetched_at: datetime | None, now: datetime | None = None) -> int | None:
    """Whole seconds since ``fetched_at`` (UTC), never negative; None when it is not known."""
    if fetched_at is None:
        return None
    now = now or datetime.now(UTC)
    return max(0, int((now - fetched_at).total_seconds()))


def parse_json(body: bytes | str) -> Any:
    """JSON of a remote body; ``NotACatalog`` (a ``ValueError``) naming what came instead.

    Deeply nested input (which makes ``json.loads`` recurse until it fails) is
    refused like any other body that is not what was asked for. Lone surrogates
    in strings are replaced (see :func:`catalog_entries`).
    """
    try:
        parsed = json.loads(body)
    except RecursionError:
        raise NotACatalog("the body is JSON nested too deeply to be a catalog") from None
    except (ValueError, UnicodeDecodeError) as exc:
        start = body[:40] if isinstance(body, str) else body[:40].decode("utf-8", "replace")
        raise NotACatalog(f"the body is not JSON ({exc.__class__.__name__}; starts {start!r})") from None
    except TypeError:
        raise NotACatalog(f"the body is {type(body).__name__}, not JSON text") from None
    if holds_surrogate_escapes(body):
        parsed, replaced = _replace_surrogates(parsed)
        if replaced:
            warn_once(
                "surrogates",
                f"{'1 text value' if replaced == 1 else f'{replaced:,} text values'} of a catalog held a lone surrogate "
                "(text UTF-8 cannot encode); "
                "replaced with U+FFFD",
            )
    return parsed


def holds_surrogate_escapes(body: bytes | str) -> bool:
    """True when ``body`` may hold a surrogate (an escape such as ``\\ud800``), which parsing replaces with a warning."""
    found = (
        re.search(rb"\\u[dD][89a-fA-F]", body)
        if isinstance(body, (bytes, bytearray))
        else re.search(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]", body)
    )
    return found is not None


def _replace_surrogates(value: Any) -> tuple[Any, int]:
    """``value`` with lone surrogates replaced in every string (keys too); iterative, so any depth is fine."""
    replaced = 0

    def fix(item: Any) -> Any:
        nonlocal replaced
        if isinstance(item, str) and has_lone_surrogate(item):
            replaced += 1
            return replace_lone_surrogates(item)
        return item

    root = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                node[i] = fix(item)
                if isinstance(item, (list, dict)):
                    stack.append(item)
        else:
            for key in list(node):
                item = node[key]
                new_key = fix(key)
                if new_key is not key:
                    del node[key]
                node[new_key] = fix(item)
                if isinstance(item, (list, dict)):
                    stack.append(item)
    return root[0], replaced


@dataclass(frozen=True)
class JsonAnswer:
    """What :func:`fetch_json` got: the value ``read`` made of a body, and how it was obtained."""

    value: Any
    cached: bool = False
    fetched_at: datetime | None = None
    error: str | None = None
    stale: bool = False
    downloaded: bool = False
    body: bytes | None = field(default=None, repr=False, compare=False)


def fetch_json(
    url: str,
    *,
    session: CachedSession,
    read: Callable[[bytes], Any] = parse_json,
    api_key: str | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    max_bytes: int = MAX_BODY_BYTES,
    follow_pages: bool = False,
    what: str = "models",
) -> JsonAnswer:
    """GET JSON through the HTTP cache with a deadline, a size cap, retries and a stale fallback.

    ``read(body)`` turns a body into the value wanted, raising ``NotACatalog``
    (or any ``ValueError``) for a body that is not usable: such a body is never
    stored, so it never replaces a good cached copy. Failures do not raise:
    ``error`` is ``"Failed to fetch {what}: ..."`` (an HTTP status, or why the
    body was refused), ``"Network request failed"``, or the time-out text; with
    a cached copy (even an expired one) it is served with ``stale=True``.
    ``follow_pages`` follows ``links.next`` and stores the pages' ``data`` as
    one answer (read whole or not at all). A 304 makes the cached copy fresh
    again, and its ``fetched_at`` becomes the time of that confirmation.
    """
    headers = {"Accept-Encoding": _ACCEPT_ENCODING}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    accept = _Acceptor(read, max_bytes, follow_pages)
    error: str
    with _deadline(deadline) as clock:
        try:
            response = session.get(
                url,
                headers=headers,
                timeout=clock.timeouts(timeout),
                force_refresh=refresh,
                hooks={"response": accept},
            )
        except FetchTimedOut:
            error = timed_out_error(deadline)
        except NotACatalog as exc:
            # a body cut off by the deadline's watchdog reads as a short body: say what really happened
            error = timed_out_error(deadline) if clock.expired else f"Failed to fetch {what}: {exc}"
        except requests.RequestException as exc:  # never its text: it may quote a header value
            error = timed_out_error(deadline) if clock.expired else _network_error(exc, timeout)
        except ValueError as exc:  # raised by a caller's reader
            error = f"Failed to fetch {what}: {exc}"
        else:
            if clock.expired and not getattr(response, "from_cache", False):
                error = timed_out_error(deadline)  # whatever arrived was cut off
            elif response.ok and not response.is_redirect:
                try:
                    value = accept.value_of(response)
                except ValueError as exc:
                    error = f"Failed to fetch {what}: {exc}"
                else:
                    from_cache = bool(getattr(response, "from_cache", False))
                    return JsonAnswer(
                        value,
                        cached=from_cache,
                        fetched_at=_utc(getattr(response, "created_at", None)),
                        downloaded=not from_cache,
                        body=response.content,
                    )
            else:
                error = f"Failed to fetch {what}: {response.status_code} {_reason(response)}"
    return _cached_fallback(session, url, headers, read, error)


def _network_error(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    """No answer, in words: a time-out says which one (a hung server is not a missing network)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's MaxRetryError wraps it
    if isinstance(reason, urllib3_exceptions.NewConnectionError):  # refused, unreachable: a subclass of the time-out
        return NETWORK_ERROR
    if isinstance(exc, requests.ConnectTimeout) or isinstance(reason, urllib3_exceptions.ConnectTimeoutError):
        return f"Network request timed out: no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout) or isinstance(reason, urllib3_exceptions.TimeoutError):
        return f"Network request timed out: no answer within {timeout[1]:g} s"
    return NETWORK_ERROR


def _reason(response: requests.Response) -> str:
    """The standard reason phrase ("Unauthorized"); servers vary its case, HTTP/2 sends none."""
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or ""


class _Acceptor:
    """Response hook: reads a 2xx body (capped, within the deadline) and refuses it *before* the cache stores it.

    Hooks run inside ``requests.Session.send``, ahead of the cache write, so a
    bad body never replaces a good entry. (A ``filter_fn`` returning False
    would instead delete the good entry.)
    """

    def __init__(self, read: Callable[[bytes], Any], max_bytes: int, follow_pages: bool) -> None:
        self.read = read
        self.max_bytes = max_bytes
        self.follow_pages = follow_pages

    def __call__(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        if 200 <= response.status_code < 300 and not getattr(response, "from_cache", False):  # noqa: SIM102
            if getattr(response, _ENTRIES, None) is None:
                body = _read_capped(response, self.max_bytes)
                if self.follow_pages:
                    body = _all_pages(response, body, self.max_bytes, kwargs.get("timeout"))
                setattr(response, _ENTRIES, self.read(body))
        return response

    def value_of(self, response: requests.Response) -> Any:
        """The value read from a downloaded body, or read now from a cached one."""
        value = getattr(response, _ENTRIES, None)
        return value if value is not None else self.read(response.content)


def _read_capped(response: requests.Response, limit: int) -> bytes:  # noqa: C901 (one read loop, every way it ends)
    """The decoded body, read in chunks; stops with ``NotACatalog`` past ``limit`` bytes or the deadline."""
    declared = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        response.close()
        raise NotACatalog(f"the body is {int(declared):,} bytes, above the {limit:,}-byte cap")
    decoder = _decoder(encoding)
    deadline = getattr(_active, "deadline", None)
    chunks, size = [], 0
    try:
        for chunk in response.raw.stream(_CHUNK, decode_content=False):
            if deadline is not None:
                deadline.check()
            for piece in decoder(chunk, limit - size + 1):
                size += len(piece)
                if size > limit:
                    raise NotACatalog(f"the body decodes to more than the {limit:,}-byte cap")
                chunks.append(piece)
        for piece in decoder(None, limit - size + 1):
            size += len(piece)
            if size > limit:
                raise NotACatalog(f"the body decodes to more than the {limit:,}-byte cap")
            chunks.append(piece)
    except zlib.error as exc:
        raise NotACatalog(f"the body's {encoding} encoding is broken ({exc})") from None
    except NotACatalog:
        response.close()
        raise
    except Exception:
        response.close()
        if deadline is not None and deadline.expired:
            raise FetchTimedOut(deadline.seconds) from None
        raise
    if deadline is not None and deadline.expired:
        raise FetchTimedOut(deadline.seconds)  # the watchdog closed the socket: the body is cut short
    body = b"".join(chunks)
    response._content = body
    response._content_consumed = True
    return body


def _decoder(encoding: str) -> Callable[[bytes | None, int], list[bytes]]:
    """A function turning wire chunks into at most about ``room`` decoded bytes each call (None: flush)."""
    if encoding in ("", "identity"):
        return lambda chunk, room: [chunk] if chunk else []
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # a gzip or zlib header, detected

        def decode(chunk: bytes | None, room: int) -> list[bytes]:
            # At most ``room`` bytes a call: a bomb stops at the cap, never inflates whole.
            # Output that fills ``room`` (limit + 1 bytes) is over the cap by construction.
            if chunk is None:
                return [] if inflate.eof else [inflate.flush()]
            return [inflate.decompress(chunk, room)]

        return decode
    raise NotACatalog(f"the body has an unsupported Content-Encoding {encoding!r}")


def _all_pages(first: requests.Response, body: bytes, limit: int, timeout) -> bytes:
    """The catalog's pages as one body: ``links.next`` followed (same host), bounded; any failure fails it all."""
    parsed = parse_json(body)
    next_link = _next_link(parsed)
    if next_link is None:
        return body
    entries = list(parsed["data"]) if isinstance(parsed, dict) and isinstance(parsed.get("data"), list) else None
    if entries is None:
        return body  # the reader says what is wrong with it
    origin = urlsplit(first.url)
    headers: dict[str, str | bytes] = {"Accept-Encoding": _ACCEPT_ENCODING}
    if "Authorization" in first.request.headers:
        headers["Authorization"] = first.request.headers["Authorization"]
    seen, total, url, page = {first.url}, len(body), first.url, 1
    with requests.Session() as pager:
        pager.mount("http://", first.connection)
        pager.mount("https://", first.connection)
        while next_link is not None:
            page += 1
            url = urljoin(url, next_link)
            target = urlsplit(url)
            if (target.scheme, target.netloc) != (origin.scheme, origin.netloc):
                raise NotACatalog(f"page {page} of the catalog points to another host ({target.netloc!r})")
            if url in seen or page > MAX_PAGES:
                raise NotACatalog(f"the catalog's pages do not end (page {page}, {url!r})")
            seen.add(url)
            clock = getattr(_active, "deadline", None)
            times = clock.timeouts(DEFAULT_TIMEOUT) if clock is not None else timeout
            response = pager.get(url, headers=headers, timeout=times, stream=True, allow_redirects=False)
            if response.status_code != 200:
                response.close()
                raise NotACatalog(f"page {page} of the catalog: {response.status_code} {_reason(response)}")
            piece = _read_capped(response, limit - total)
            total += len(piece)
            parsed = parse_json(piece)
            if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
                raise NotACatalog(f"page {page} of the catalog is not a catalog page")
            entries.extend(parsed["data"])
            next_link = _next_link(parsed)
    # Stored as one catalog; without validators, since a 304 on the first page says nothing of the others.
    for name in ("ETag", "Last-Modified"):
        first.headers.pop(name, None)
    combined = json.dumps({"data": entries}, ensure_ascii=False).encode()
    first._content = combined
    return combined


def _next_link(parsed: Any) -> str | None:
    links = parsed.get("links") if isinstance(parsed, dict) else None
    link = links.get("next") if isinstance(links, dict) else None
    return link if isinstance(link, str) and link.strip() else None


def cached_entry(session: CachedSession, url: str, headers: dict) -> Any:
    """The cache's entry for a GET of ``url`` (expired or not), or None; never any network work."""
    try:
        request = session.prepare_request(requests.Request("GET", url, headers=headers))
        return session.cache.get_response(session.cache.create_key(request))
    except (requests.RequestException, ValueError, sqlite3.Error):
        return None


def _cached_fallback(
    session: CachedSession, url: str, headers: dict, read: Callable[[bytes], Any], error: str
) -> JsonAnswer:
    """The cached copy, even expired, marked stale with ``error``; or nothing with ``error``."""
    entry = cached_entry(session, url, headers)
    if entry is not None:
        try:
            value = read(entry.content)
        except ValueError:
            pass
        else:
            return JsonAnswer(
                value, cached=True, fetched_at=_utc(entry.created_at), error=error, stale=True, body=entry.content
            )
    return JsonAnswer(None, error=error)


def _utc(moment: datetime | None) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return as_utc(moment)
