"""Real local endpoints that receive alerts in tests: an HTTP listener for webhooks and an SMTP
server (aiosmtpd) for e-mail, each keeping what it received."""

from __future__ import annotations

import email
import email.policy
import html
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        sink: WebhookSink = self.server.sink  # type: ignore[attr-defined]
        sink.received.append({"path": self.path, "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class WebhookSink:
    """An HTTP server on a free loopback port recording every POSTed JSON body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
        self._server.sink = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class _MailHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink.received.append({"to": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted for delivery"


class MailSink:
    """An aiosmtpd SMTP server on a free loopback port recording every message."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)

    def texts(self) -> list[str]:
        """Subject and body text of every message received, as a reader sees it (HTML bodies
        unescaped)."""
        found = []
        for item in self.received:
            message = item["message"]
            parts = [
                html.unescape(part.get_content())
                for part in message.walk()
                if not part.is_multipart()
            ]
            found.append(f"{message['Subject']}\n" + "\n".join(parts))
        return found

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
