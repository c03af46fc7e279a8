"""One error hierarchy; the web layer turns it into JSON in one place."""

from __future__ import annotations


class LauraError(Exception):
    """An expected failure with a message a person understands."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class BadRequest(LauraError):
    status = 400
    code = "bad_request"


class Unauthorized(LauraError):
    status = 401
    code = "unauthorized"


class Forbidden(LauraError):
    status = 403
    code = "forbidden"


class NotFound(LauraError):
    status = 404
    code = "not_found"


class Conflict(LauraError):
    status = 409
    code = "conflict"


class TooLarge(LauraError):
    status = 413
    code = "too_large"


class TooManyRequests(LauraError):
    """A rate limit or an abuse cap was reached; retry_after is the whole number of seconds
    after which trying again makes sense (sent as the Retry-After header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the fix."""
