"""HTTP routes of the shop API (``/api/<resource>``) and of its ``/control`` endpoints."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from webshop_simulator.paging import PagingError, parse_request, select
from webshop_simulator.serving import HttpError, JsonHandler

if TYPE_CHECKING:
    from webshop_simulator.server import ShopServer


class ShopHandler(JsonHandler):
    """Routes requests to the owning ShopServer."""

    server_version = "ShopAPI/2.1"

    @property
    def shop(self) -> ShopServer:
        """The ShopServer this handler works for."""
        return self.app  # type: ignore[no-any-return]

    def route(self, method: str, segments: list[str], params: dict[str, str], body: Any) -> None:
        """``/api/<resource>`` lists; ``/control/...`` inspects and changes the data."""
        if segments[:1] == ["api"] and len(segments) == 2 and method == "GET":
            self._list(segments[1], params)
        elif segments[:1] == ["control"]:
            self.send_json(HTTPStatus.OK, self._control(method, segments[1:], body))
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no route for {method} {self.path}")

    def _list(self, name: str, params: dict[str, str]) -> None:
        if not self.shop.authorized(self.headers.get("Authorization")):
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "missing or invalid access token",
                {"WWW-Authenticate": 'Bearer realm="shop"'},
            )
        wait = self.shop.throttle()
        if wait is not None:
            raise HttpError(
                HTTPStatus.TOO_MANY_REQUESTS, "rate limit exceeded", {"Retry-After": str(wait)}
            )
        try:
            resource = self.shop.dataset.resource(name)
        except KeyError:
            raise HttpError(HTTPStatus.NOT_FOUND, f"unknown resource {name!r}") from None
        if self.shop.repeat_page:
            params = {k: v for k, v in params.items() if k not in ("page", "offset", "cursor")}
        try:
            request = parse_request(params, self.shop.page_cap)
        except PagingError as error:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(error)) from None
        records, cursor, total = select(self.shop.dataset.sorted_records(resource), request)
        self.shop.count(f"pages_{resource}")
        if cursor is not None and self.shop.repeat_cursor and "cursor" in params:
            cursor = params["cursor"]
        headers = {}
        if cursor is not None:
            following = {**params, "cursor": cursor}
            for name_ in ("page", "offset"):
                following.pop(name_, None)
            host = self.headers.get("Host") or f"{self.shop.host}:{self.shop.port}"
            link = f"http://{host}/api/{resource}?{urlencode(following)}"
            headers["Link"] = f'<{link}>; rel="next"'
        meta = {"total": total + self.shop.total_offset}
        body = {resource: records, "next_cursor": cursor, "meta": meta}
        self.send_json(HTTPStatus.OK, body, headers)

    def _control(self, method: str, segments: list[str], body: Any) -> Any:
        shop = self.shop
        if segments == ["stats"] and method == "GET":
            return shop.stats()
        if segments == ["throttle"] and method == "POST":
            shop.force_throttle(int(body.get("count", 1)), int(body.get("retry_after", 1)))
            return {"ok": True}
        if segments == ["faults"] and method == "POST":
            try:
                shop.set_faults(body or {})
            except (AttributeError, TypeError, ValueError) as error:
                raise HttpError(HTTPStatus.BAD_REQUEST, f"bad faults: {error}") from None
            return {"ok": True}
        if len(segments) != 2:
            raise HttpError(HTTPStatus.NOT_FOUND, f"unknown control endpoint {self.path}")
        try:
            resource = shop.dataset.resource(segments[0])
        except KeyError:
            raise HttpError(HTTPStatus.NOT_FOUND, f"unknown resource {segments[0]!r}") from None
        action = segments[1]
        try:
            if action == "all" and method == "GET":
                return shop.dataset.rows(resource)
            if action == "upsert" and method == "POST":
                return {"upserted": shop.dataset.upsert(resource, body)}
            if action == "touch" and method == "POST":
                changed = shop.dataset.touch(
                    resource, body["ids"], body["updated_at"], body.get("set") or {}
                )
                return {"touched": changed}
            if action == "delete" and method == "POST":
                return {"deleted": shop.dataset.delete(resource, body)}
        except (KeyError, TypeError, ValueError) as error:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"bad control request: {error!r}") from None
        raise HttpError(HTTPStatus.NOT_FOUND, f"unknown control endpoint {self.path}")
