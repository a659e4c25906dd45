"""Errors that map to a 4D-style __ERROR response."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

ERR_AUTHENTICATION = 1
ERR_NOT_FOUND = 2
ERR_BAD_REQUEST = 3
ERR_METHOD = 4
ERR_INTERNAL = 5
ERR_ATTRIBUTE_NOT_FOUND = 1500
DATABASE_COMPONENT = "dbmg"


class HttpError(Exception):
    """Abort a request with an HTTP status and an __ERROR body."""

    def __init__(
        self, status: HTTPStatus, message: str, code: int, component: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.component = component

    def payload(self) -> dict[str, Any]:
        """Body in the legacy system's error format."""
        error: dict[str, Any] = {"message": self.message}
        if self.component is not None:
            error["componentSignature"] = self.component
        error["errCode"] = self.code
        return {"__ERROR": [error]}


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


def unknown_attribute(attribute: str, dataclass: str) -> HttpError:
    """500 with 4D's database error 1500, as a query naming an attribute the dataclass lacks
    gets (in ``$filter`` or ``$orderby``): asking again gives the same answer."""
    return HttpError(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        f'The "{attribute}" attribute cannot be found in The "{dataclass}" dataclass',
        ERR_ATTRIBUTE_NOT_FOUND,
        DATABASE_COMPONENT,
    )
