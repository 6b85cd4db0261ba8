"""One object for the connection and store settings: where the catalog comes from, how long to wait, which files.

>>> from vision_models import Settings
>>> settings = Settings.from_env(timeout=(3, 20))  # the environment, read once, with one change
>>> settings.replace(deadline=60).deadline
60.0

Precedence, in every entry point that takes ``settings=``: a keyword argument wins over the ``settings``
object, which wins over the environment, which wins over the defaults here. ``Settings()`` is the defaults
alone; :meth:`Settings.from_env` reads the environment once, at the call (changing it later changes no object).
Every field is checked when the object is made: a bad value is a one-line ``ValueError`` or ``TypeError``
that names it (and, for a value read from the environment, the variable). The API key is never shown.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: OpenRouter's API root, used when neither ``base_url`` nor ``$OPENROUTER_BASE_URL`` is given.
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"

#: (connect, read) seconds. Reads are not retried, so a server that accepts
#: the connection and never answers costs one read time-out.
DEFAULT_TIMEOUT = (5.0, 10.0)

#: Seconds one whole fetch may take: connecting, every read, every page, the
#: retries and their waits. A server that sends slowly is cut off here.
DEFAULT_DEADLINE = 30.0

#: Seconds a cached catalog (or endpoints answer) stays fresh.
DEFAULT_EXPIRE_SECONDS = 3600

BASE_URL_ENV = "OPENROUTER_BASE_URL"
API_KEY_ENV = "OPENROUTER_API_KEY"
SOURCE_ENV = "VISION_MODELS_SOURCE"
CACHE_ENV = "VISION_MODELS_CACHE"
TRIALS_ENV = "VISION_MODELS_TRIALS"
HISTORY_ENV = "VISION_MODELS_HISTORY"

#: Field -> the environment variable :meth:`Settings.from_env` reads it from.
ENV_VARS = {
    "base_url": BASE_URL_ENV,
    "api_key": API_KEY_ENV,
    "source": SOURCE_ENV,
    "cache_path": CACHE_ENV,
    "trials_path": TRIALS_ENV,
    "history_path": HISTORY_ENV,
}

Path = str | os.PathLike


@dataclass(frozen=True)
class Settings:
    """Where the catalog comes from and how it is fetched and kept; see the module notes for precedence.

    ``cache_path``, ``trials_path``, ``history_path``: None means the usual place (the user cache folder;
    the trials and history files beside the HTTP cache). ``timeout``: seconds, one number or a
    (connect, read) pair. ``deadline``: seconds over one whole fetch. ``expire_after``: seconds a cached
    answer stays fresh.
    """

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    source: str = "openrouter"
    cache_path: Path | None = None
    expire_after: float = DEFAULT_EXPIRE_SECONDS
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    trials_path: Path | None = None
    history_path: Path | None = None
    #: What the environment held for each field read from it: an error then names the variable, never the field.
    _env: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "base_url", check_base_url(self.base_url, self.origin("base_url")))
        put(self, "api_key", check_api_key(self.api_key, self.origin("api_key")))
        put(self, "source", _text("source", self.source, self.origin("source")))
        for name in ("cache_path", "trials_path", "history_path"):
            put(self, name, _path(name, getattr(self, name)))
        put(self, "expire_after", _seconds("expire_after", self.expire_after, zero=True))
        put(self, "timeout", check_timeout(self.timeout))
        put(self, "deadline", _seconds("deadline", self.deadline))

    def __repr__(self) -> str:
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr]
        shown.insert(1, f"api_key={'<set>' if self.api_key else '<unset>'}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
        """The defaults, then the environment (read once, now), then ``overrides`` (None or ``""``: not given)."""
        env = os.environ if environ is None else environ
        read = {name: env[var] for name, var in ENV_VARS.items() if env.get(var)}
        values: dict[str, Any] = {**read, **_given(overrides)}
        seen = tuple((name, value) for name, value in read.items() if values[name] is value)
        return cls(**values, _env=seen)

    def replace(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` (None or ``""``: not given, the value here stays)."""
        return dataclasses.replace(self, **_given(overrides)) if overrides else self

    def origin(self, name: str) -> str:
        """How an error names a field: ``$VARIABLE`` when its value came from the environment, else its name."""
        raw = dict(self._env).get(name)
        return f"${ENV_VARS[name]}" if raw is not None and _same(raw, getattr(self, name)) else name


def resolve(settings: Settings | None = None, **overrides: Any) -> Settings:
    """What an entry point uses: ``settings`` (else the environment, read now) with the keyword ``overrides``."""
    if settings is None:
        return Settings.from_env(**overrides)
    if not isinstance(settings, Settings):
        raise TypeError(f"bad settings {settings!r}: expected a vision_models.Settings")
    return settings.replace(**overrides)


def env_value(name: str) -> str | None:
    """The environment's value for one field now (None when unset or empty), for callers that need that one only."""
    return os.environ.get(ENV_VARS[name]) or None


def _given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown setting {unknown[0]!r}: expected one of {', '.join(FIELDS)}")
    return {name: value for name, value in overrides.items() if value is not None and not _blank(value)}


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value


def _same(raw: str, value: Any) -> bool:
    """Whether a field still holds what the environment gave (after the checks' normalising)."""
    if raw == value:
        return True
    try:
        return value is not None and str(value) == raw.strip().rstrip("/")
    except Exception:  # noqa: BLE001 (a repr-only comparison must never fail)
        return False


# ---------------------------------------------------------------- checks (one line each, naming the value)


def shown_url(url: str) -> str:
    """The URL as a message may show it: any ``user:password@`` masked."""
    return re.sub(r"(?<=://)[^/@]*@", "***@", url, count=1)


def check_base_url(value: object, where: str = "base_url") -> str:
    """An http(s) URL without a trailing slash; else a ``ValueError`` naming ``where`` and the URL, credentials masked."""
    if not isinstance(value, str):
        raise TypeError(f"bad {where} {value!r}: expected an http(s) URL as a string")
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises here)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(ch.isspace() for ch in url)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{where} is not an http(s) URL: {shown_url(url)!r}")
    return url


def check_api_key(value: object, where: str = "api_key") -> str | None:
    """The key stripped (a ``.env`` file with Windows line ends leaves a CR), None when empty; never shown in an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"bad {where}: expected a string, got a {type(value).__name__}")
    key = value.strip()
    if not key:
        return None
    if any(not ("\x21" <= ch <= "\x7e") for ch in key):
        raise ValueError(f"the API key in {where} holds a space, a control or a non-ASCII character: check it")
    return key


def check_timeout(value: object) -> tuple[float, float]:
    """(connect, read) seconds from one number or a pair; each above 0 and finite."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) == 2 and all(_is_seconds(part) for part in pair):
        return float(pair[0]), float(pair[1])
    raise ValueError(f"bad timeout {value!r}: expected seconds above 0, one number or a (connect, read) pair")


def _seconds(name: str, value: object, *, zero: bool = False) -> float:
    if _is_seconds(value, zero=zero):
        return value if isinstance(value, int) and zero else float(value)  # type: ignore[arg-type]
    floor = "from 0" if zero else "above 0"
    raise ValueError(f"bad {name} {value!r}: expected a number of seconds {floor}")


def _is_seconds(value: object, *, zero: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (value >= 0 if zero else value > 0)


def _text(name: str, value: object, where: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"bad {where} {value!r}: expected openrouter, sample, an http(s) URL or a file")
    return value


def _path(name: str, value: object) -> Path | None:
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    raise TypeError(f"bad {name} {value!r}: expected a file path")


FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if not f.name.startswith("_"))
