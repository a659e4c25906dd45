"""``read_body`` reads a streamed page in one call and still refuses a body that breaks off,
whether the server announced its length, sent it in chunks, or compressed it."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sync_operators.common.http_session import HttpRetryOptions, build_session, read_body

BODY = b'{"__COUNT": 2, "__ENTITIES": [{"ID": "A1"}, {"ID": "A2"}]}'


def _chunked(data: bytes, pieces: int = 3, end: bool = True) -> bytes:
    step = -(-len(data) // pieces)
    chunks = [data[at : at + step] for at in range(0, len(data), step)]
    framed = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for chunk in chunks)
    return framed + (b"0\r\n\r\n" if end else b"")


ANSWERS: dict[str, bytes] = {
    "/whole": b"Content-Length: %d\r\n\r\n%b" % (len(BODY), BODY),
    "/half": b"Content-Length: %d\r\n\r\n%b" % (len(BODY), BODY[: len(BODY) // 2]),
    "/chunked": b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(BODY),
    "/chunked-cut": b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(BODY, end=False)[:-7],
    "/gzip": b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    + _chunked(gzip.compress(BODY)),
    "/gzip-cut": b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%b"
    % (len(gzip.compress(BODY)), gzip.compress(BODY)[:-12]),
}


@contextmanager
def raw_answers() -> Iterator[str]:
    """A server that writes each path's answer as given (status line and content type added)
    and then closes the connection; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.wfile.write(ANSWERS[self.path])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str) -> requests.Response:
    session = build_session(HttpRetryOptions(retries=0))
    return session.get(url, stream=True, timeout=5)


@pytest.mark.parametrize("path", ["/whole", "/chunked", "/gzip"])
def test_a_whole_body_reads_as_response_content_would(path: str) -> None:
    with raw_answers() as base:
        response = _get(base + path)
        assert read_body(response) == BODY
        assert response.content == BODY
        assert response.text == BODY.decode()
        assert read_body(response) == BODY


@pytest.mark.parametrize("path", ["/half", "/chunked-cut", "/gzip-cut"])
def test_a_body_that_breaks_off_raises_as_response_content_does(path: str) -> None:
    with raw_answers() as base:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            read_body(_get(base + path))
        with pytest.raises(requests.RequestException):
            _ = _get(base + path).content
