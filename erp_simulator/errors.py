"""Errors that map to a 4D-style __ERROR response."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

ERR_AUTHENTICATION = 1
ERR_NOT_FOUND = 2
ERR_BAD_REQUEST = 3
ERR_METHOD = 4
ERR_INTERNAL = 5


class HttpError(Exception):
    """Abort a request with an HTTP status and an __ERROR body."""

    def __init__(self, status: HTTPStatus, message: str, code: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def payload(self) -> dict[str, Any]:
        """Body in the legacy system's error format."""
        return {"__ERROR": [{"message": self.message, "errCode": self.code}]}


def bad_request(message: str) -> HttpError:
    """400 with the given message."""
    return HttpError(HTTPStatus.BAD_REQUEST, message, ERR_BAD_REQUEST)


def not_found(message: str) -> HttpError:
    """404 with the given message."""
    return HttpError(HTTPStatus.NOT_FOUND, message, ERR_NOT_FOUND)


def unauthorized(message: str) -> HttpError:
    """401 with the given message."""
    return HttpError(HTTPStatus.UNAUTHORIZED, message, ERR_AUTHENTICATION)


def method_not_allowed(method: str, path: str) -> HttpError:
    """405 for a known path used with the wrong method."""
    return HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} not allowed on {path}", ERR_METHOD)
