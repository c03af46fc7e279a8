"""Errors become JSON in one place: `{"error": {"code", "message"}}`.

- error_middleware: LauraError → its 4xx; aiohttp's HTTP exceptions → the same shape; anything
  unexpected → 500 with a reference number that is also in the log.
- JsonErrorRequestHandler: what aiohttp's own protocol layer refuses (a malformed request line,
  a bad method token, an overlong URL or header) happens before any middleware runs; it gets the
  same shape here.

Client errors (4xx) are logged at INFO with method, path and code only: no traceback, and never
the request's text (a refused header line may hold a token, a body may hold chat text).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from ..errors import ErrorCode, LauraError, TooManyRequests

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.TOO_MANY_REQUESTS,
}

_HTTP_MESSAGES = {
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is too large.",
}


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


def _where(request: web.BaseRequest) -> tuple[str, str]:
    """Method and path for a log line: the path still percent-encoded (no control characters
    from the client in the log), without the query, and cut short."""
    return request.method[:16], request.rel_url.raw_path[:200]


def _client_error(request: web.BaseRequest, status: int, code: ErrorCode) -> None:
    method, path = _where(request)
    log.info("Client error %s %s on %s %s", status, code, method, path)


def _internal_error(request: web.BaseRequest, exc: BaseException | None) -> web.Response:
    ref = secrets.token_hex(4)
    method, path = _where(request)
    log.error("Unexpected error (reference %s) on %s %s", ref, method, path, exc_info=exc)
    return error_response(
        500, ErrorCode.INTERNAL_ERROR, f"Something went wrong on our side (reference {ref})."
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except LauraError as e:
        _client_error(request, e.status, e.code)
        headers = {"Retry-After": str(e.retry_after)} if isinstance(e, TooManyRequests) else None
        return error_response(e.status, e.code, e.message, headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = _HTTP_CODES.get(e.status, ErrorCode.ERROR)
        _client_error(request, e.status, code)
        return error_response(e.status, code, _HTTP_MESSAGES.get(e.status, e.reason))
    except ConnectionResetError:
        # The client went away while its request was read; nobody is left to answer.
        _client_error(request, 400, ErrorCode.CONNECTION_LOST)
        return error_response(400, ErrorCode.CONNECTION_LOST, "The connection was lost.")
    except HttpProcessingError as e:
        # A body that breaks the HTTP framing (a bad chunk, a short Content-Length) shows up
        # only when the handler reads it.
        status = e.code if 400 <= e.code < 500 else 400
        _client_error(request, status, ErrorCode.BAD_HTTP_REQUEST)
        return error_response(
            status,
            ErrorCode.BAD_HTTP_REQUEST,
            "The request could not be read: it is not valid HTTP.",
        )
    except Exception as e:
        return _internal_error(request, e)


def _protocol_error(exc: BaseException | None) -> tuple[ErrorCode, str]:
    if isinstance(exc, LineTooLong):
        return ErrorCode.REQUEST_TOO_LONG, "The address or a header of the request is too long."
    if isinstance(exc, BadHttpMethod):
        return ErrorCode.BAD_HTTP_METHOD, "The request's method is not a valid HTTP method."
    return ErrorCode.BAD_HTTP_REQUEST, "The request could not be read: it is not valid HTTP."


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors in Laura's JSON shape."""

    def data_received(self, data: bytes) -> None:
        # Private attributes of aiohttp 3.14: where a later version lacks them, this falls
        # back to aiohttp's own behaviour.
        messages = getattr(self, "_messages", None)
        if messages is None:
            super().data_received(data)
            return
        queued = len(messages)
        super().data_received(data)
        # When a body's framing breaks in a later packet (a bad chunk), aiohttp 3.14 queues an
        # error for the next request but leaves the body of the one in progress waiting for
        # ever. Hand the error to that body: the handler's read then fails, and the visitor
        # gets a 400 instead of a hanging connection.
        request = getattr(self, "_current_request", None)
        if request is None or request.content.is_eof() or len(messages) <= queued:
            return
        exc = getattr(messages[-1][0], "exc", None)
        if isinstance(exc, HttpProcessingError):
            request.content.set_exception(exc)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # A client's malformed HTTP (met again when aiohttp drains a broken body after the
        # answer) is no server error; it was answered and logged already.
        if isinstance(kw.get("exc_info"), HttpProcessingError):
            return
        super().log_exception(*args, **kw)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of a response went out already: the connection is broken (as aiohttp does).
            raise ConnectionError("Response is sent already, cannot send an error response")
        if status == 500:
            resp = _internal_error(request, exc)
        elif status > 500:  # 504: a handler timed out
            method, path = _where(request)
            log.warning("Answered %s on %s %s", status, method, path)
            resp = error_response(status, ErrorCode.SERVER_TIMEOUT, "The server took too long.")
        else:
            code, text = _protocol_error(exc)
            # Method and path are unknown here: the request could not be parsed.
            log.info(
                "Client error %s %s: unreadable HTTP request (%s)",
                status,
                code,
                type(exc).__name__ if exc else "-",
            )
            resp = error_response(status, code, text)
        resp.force_close()
        return resp
