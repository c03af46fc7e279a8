"""One error middleware: LauraError → its 4xx JSON; anything unexpected → 500 with a reference."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import LauraError

log = logging.getLogger("laura.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except LauraError as e:
        return error_response(e.status, e.code, e.message)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = {
            404: "There is nothing at this address.",
            405: "This address does not accept that method.",
        }.get(e.status, e.reason)
        return error_response(e.status, _HTTP_CODES.get(e.status, "error"), message)
    except Exception:
        ref = secrets.token_hex(4)
        log.exception(
            "Unexpected error (reference %s) on %s %s", ref, request.method, request.rel_url.path
        )
        return error_response(
            500, "internal_error", f"Something went wrong on our side (reference {ref})."
        )
