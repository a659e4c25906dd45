"""A requests session with urllib3 retries: backoff with jitter on 5xx, dropped connections and
timeouts, and Retry-After on 429/503; and a tenacity policy with the same budget for what urllib3
cannot see (a body that breaks off or does not parse), so extractors never hand-roll sleep loops.
Every retry is logged with its reason."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

logger = logging.getLogger(__name__)


class HttpRetryOptions(BaseModel):
    """Retry and timeout settings shared by every HTTP source and target."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=5, ge=0, le=20)
    backoff_factor: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, gt=0)
    backoff_jitter: float = Field(default=0.25, ge=0)
    retry_after_max: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After wait is capped, so a hostile header cannot stall a run."""

    retry_after_cap: float = 60.0

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.retry_after_cap)

    def new(self, **kw):  # type: ignore[no-untyped-def]
        renewed = super().new(**kw)
        renewed.retry_after_cap = self.retry_after_cap
        return renewed

    def increment(self, method=None, url=None, response=None, error=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Count one more retry (raising when none are left) and say why it is needed."""
        renewed = super().increment(method, url, response, error, *args, **kwargs)
        reason = f"HTTP {response.status}" if response is not None and response.status else error
        logger.warning("%s %s: %s; retrying (%s retries left)", method, url, reason, renewed.total)
        return renewed


class _Session(requests.Session):
    """A session that reads proxy and CA bundle settings from the environment once per host:
    requests walks ``os.environ`` several times for every request (≈ 5 % of the extract's
    Python time in a profile of pages of a thousand records)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(  # type: ignore[no-untyped-def]
        self, url, proxies, stream, verify, cert
    ) -> dict[str, Any]:
        """``requests.Session.merge_environment_settings``, remembered per scheme and host."""
        key = (urlsplit(url)[:2], tuple(sorted((proxies or {}).items())), verify, cert)
        found = self._environment.get(key)
        if found is None:
            found = super().merge_environment_settings(url, proxies, None, verify, cert)
            self._environment[key] = found
        # A copy of the proxies each time: nothing a request does can change the remembered ones.
        return {
            **found,
            "proxies": dict(found["proxies"]),
            "stream": merge_setting(stream, self.stream),
        }


def build_session(
    options: HttpRetryOptions,
    methods: frozenset[str] | None = None,
    statuses: frozenset[int] = RETRY_STATUSES,
) -> requests.Session:
    """A session that retries idempotent requests with exponential backoff and jitter; answers
    with ``statuses`` are asked for again (a caller that must read a status's body first, to
    tell a permanent error from a transient one, leaves that status out)."""
    retry = _CappedRetry(
        total=options.retries,
        connect=options.retries,
        read=options.retries,
        status=options.retries,
        other=options.retries,
        backoff_factor=options.backoff_factor,
        backoff_max=options.backoff_max,
        backoff_jitter=options.backoff_jitter,
        status_forcelist=statuses,
        allowed_methods=methods or frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.retry_after_cap = options.retry_after_max
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=4)
    session = _Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def read_body(response: requests.Response) -> bytes:
    """The whole body of a response opened with ``stream=True``, read in one call.

    ``response.content`` reads a streamed body in pieces of 10 KB through several layers, which
    costs about 0.4 ms for a page of a thousand records. A body that breaks off raises
    ``requests.exceptions.ChunkedEncodingError``, as ``response.content`` does; the body is kept,
    so ``content`` and ``text`` still answer afterwards."""
    if response._content_consumed:  # type: ignore[attr-defined]
        return response.content
    try:
        content = response.raw.read(decode_content=True)
    except Urllib3Error as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    response._content = content  # type: ignore[attr-defined]
    response._content_consumed = True  # type: ignore[attr-defined]
    return content


def body_retrying(
    options: HttpRetryOptions, retry_on: tuple[type[BaseException], ...]
) -> tenacity.Retrying:
    """Retry a request whose response arrived but whose body broke off or did not parse, with
    the session's budget, backoff and jitter; the last error is re-raised when it runs out."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retry_on),
        stop=tenacity.stop_after_attempt(options.retries + 1),
        wait=tenacity.wait_exponential_jitter(
            initial=options.backoff_factor, max=options.backoff_max, jitter=options.backoff_jitter
        ),
        before_sleep=tenacity.before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )
