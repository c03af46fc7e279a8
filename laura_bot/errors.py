"""One error hierarchy; the web layer turns it into JSON in one place."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The stable `code` of every error the widget API answers ({"error": {"code",
    "message"}}). Clients act on it (the widget on some), so a code is never renamed; the
    message is for people and may change. The OpenAPI document lists them all."""

    # What a status says without a more specific code: LauraError's subclasses, and aiohttp's
    # own HTTP errors (web/errors.py's table).
    BAD_REQUEST = "bad_request"  # 400 with nothing more specific to say
    UNAUTHORIZED = "unauthorized"  # 401 with nothing more specific to say
    FORBIDDEN = "forbidden"  # 403 with nothing more specific to say
    NOT_FOUND = "not_found"  # 404: nothing at this address
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405: the address does not take that method
    CONFLICT = "conflict"  # 409 with nothing more specific to say
    TOO_LARGE = "too_large"  # 413: the request body is over web.max_body_size
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415 raised by aiohttp
    TOO_MANY_REQUESTS = "too_many_requests"  # 429 raised by aiohttp (not Laura's own limits)
    ERROR = "error"  # an HTTP error of aiohttp's whose status has no code of its own
    # Below the handlers: the server, the connection, HTTP itself.
    INTERNAL_ERROR = "internal_error"  # 500: a bug; the message has the log's reference
    SERVER_TIMEOUT = "server_timeout"  # 504: a handler took too long
    CONNECTION_LOST = "connection_lost"  # the client went away while its request was read
    BAD_HTTP_REQUEST = "bad_http_request"  # not valid HTTP (a broken chunk, a bad header)
    BAD_HTTP_METHOD = "bad_http_method"  # the request's method is no valid HTTP token
    REQUEST_TOO_LONG = "request_too_long"  # the address or a header line is too long
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"  # 403: a browser on a site not in allowed_origins
    # Any call.
    RATE_LIMITED = "rate_limited"  # 429: a rate limit of the address or the chat (Retry-After)
    MISSING_BODY = "missing_body"  # a call that needs a JSON body got none
    INVALID_JSON = "invalid_json"  # the body is not JSON, or not a JSON object
    INVALID_TEXT = "invalid_text"  # a string of the body has a lone surrogate or a NUL
    BAD_NUMBER = "bad_number"  # a number of the body is not finite or over 2^53-1
    MISSING_TOKEN = "missing_token"  # 401: no Authorization: Bearer header
    INVALID_TOKEN = "invalid_token"  # 401: a malformed or a wrong bearer token
    SESSION_NOT_FOUND = "session_not_found"  # 404: no such session, or not the token's
    # Starting a chat (POST /sessions), and its language.
    BAD_NAME = "bad_name"  # not a string, too long, or imitates the portal's marker
    BAD_EMAIL = "bad_email"  # not a string, too long, or no e-mail address
    BAD_LANGUAGE = "bad_language"  # not one of laura.languages (or missing when switching)
    BAD_CONSENT = "bad_consent"  # consent is not true or false
    CONSENT_REQUIRED = "consent_required"  # web.consent: the visitor did not agree
    IDENTITY_REQUIRED = "identity_required"  # 403: portal mode requires a signed identity
    BAD_IDENTITY = "bad_identity"  # the portal's token is unusable or not taken here
    IDENTITY_EXPIRED = "identity_expired"  # the portal's token is past its exp
    # The topic (POST .../topic) and the queue.
    BAD_TOPIC = "bad_topic"  # topic_id is not a short string
    UNKNOWN_TOPIC = "unknown_topic"  # no open department has that id
    TOPIC_CLOSED = "topic_closed"  # 409: the department is closed now
    TOPIC_ALREADY_CHOSEN = "topic_already_chosen"  # 409: this chat has its topic already
    TOO_MANY_WAITING = "too_many_waiting"  # 429: too many chats of this address are waiting
    WAIT_NOT_POSSIBLE = "wait_not_possible"  # 409: Laura did not ask for contact details
    NOT_CONNECTED = "not_connected"  # a requeue of a chat no one has (internal, never sent)
    # Messages and the event stream.
    BAD_BODY = "bad_body"  # a message's body is not a non-empty string
    BAD_CLIENT_TXN_ID = "bad_client_txn_id"  # client_txn_id is not 1 to 64 characters
    MESSAGE_TOO_LONG = "message_too_long"  # 413: over web.max_message_length
    CHAT_ENDED = "chat_ended"  # 409: a message or a file to a chat that has ended
    BAD_QUERY = "bad_query"  # the long poll's or stream's after or timeout is not a number
    TOO_MANY_LISTENING = "too_many_listening"  # 429: the chat is open in too many places
    # Contact details (POST .../contact-request).
    BAD_PHONE = "bad_phone"  # not a string, too long, or not a phone number
    BAD_MESSAGE = "bad_message"  # the contact request's message is not a string, or too long
    CONTACT_REQUIRED = "contact_required"  # neither a phone number nor an e-mail address
    CONTACT_NOT_POSSIBLE = "contact_not_possible"  # 409: the chat is connected or has ended
    # Ending, starting again, rating.
    BAD_REASON = "bad_reason"  # the end's reason is not a string, or too long
    CHAT_NOT_ENDED = "chat_not_ended"  # 409: a restart of a chat still going
    BAD_STARS = "bad_stars"  # stars is not a whole number from 1 to 5
    BAD_COMMENT = "bad_comment"  # the rating's comment is not a string, or too long
    COMMENT_REQUIRED = "comment_required"  # 1 or 2 stars without a comment
    NOT_RATABLE = "not_ratable"  # 409: not ended, nobody took it, or not the current chat
    ALREADY_RATED = "already_rated"  # 409: this chat has its rating already
    # Typing, files, video.
    BAD_TYPING = "bad_typing"  # typing is not true or false
    BAD_DRAFT = "bad_draft"  # the typing draft is not a string
    BAD_UPLOAD = "bad_upload"  # not multipart/form-data with a field named file
    FILES_NOT_ACCEPTED = "files_not_accepted"  # 422: media.visitor_types is empty
    FILE_TOO_LARGE = "file_too_large"  # 413: over max_file_mb, too many pixels, too complex
    FILE_TYPE_NOT_ALLOWED = "file_type_not_allowed"  # 422: its content is no type allowed
    FILE_UNREADABLE = "file_unreadable"  # 422: damaged, incomplete, or password-protected
    FILE_EMPTY = "file_empty"  # 422: no bytes
    FILE_ACTIVE_CONTENT = "file_active_content"  # 422: a PDF with scripts, actions or files
    ATTACHMENT_NOT_FOUND = "attachment_not_found"  # 404: no such file in this chat
    NO_VIDEO_CALL = "no_video_call"  # 409: no video call in this chat now
    # Booking a conversation (the visitor's own appointment)
    BOOKING_OFF = "booking_off"  # 409: this topic takes no bookings (now)
    BAD_KIND = "bad_kind"  # kind is not one of the conversation kinds offered
    BAD_SLOT = "bad_slot"  # start is not a time, or not one of the free slots
    SLOT_TAKEN = "slot_taken"  # 409: someone else booked that time just now
    ALREADY_BOOKED = "already_booked"  # 409: this chat has a booked conversation already
    # The admin API (GET /api/v1/admin/report), with web.admin_token as its bearer token.
    BAD_PERIOD = "bad_period"  # from or to is no date, from is after to, or over 366 days
    UNKNOWN_DEPARTMENT = "unknown_department"  # no department (removed ones too) has that id
    # The team's dashboard (a Matrix widget; /api/v1/dashboard/...).
    INVALID_OPENID = "invalid_openid"  # 401: the homeserver did not confirm the OpenID token
    NOT_STAFF = "not_staff"  # 403: the user is in no department and no admin or supervisor
    NOT_YOUR_DEPARTMENT = "not_your_department"  # 403: another department's dashboard
    ALREADY_TAKEN = "already_taken"  # 409: a colleague took the chat first
    TOO_LATE = "too_late"  # 409: the chat is no longer waiting
    NOT_MEMBER = "not_member"  # 403: not in the chat's department
    BAD_STATUS = "bad_status"  # status is not online, auto or offline


class LauraError(Exception):
    """An expected failure with a message a person understands."""

    status = 400
    code = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class BadRequest(LauraError):
    status = 400
    code = ErrorCode.BAD_REQUEST


class Unauthorized(LauraError):
    status = 401
    code = ErrorCode.UNAUTHORIZED


class Forbidden(LauraError):
    status = 403
    code = ErrorCode.FORBIDDEN


class NotFound(LauraError):
    status = 404
    code = ErrorCode.NOT_FOUND


class Conflict(LauraError):
    status = 409
    code = ErrorCode.CONFLICT


class TooLarge(LauraError):
    status = 413
    code = ErrorCode.TOO_LARGE


class TooManyRequests(LauraError):
    """A rate limit or an abuse cap was reached; retry_after is the whole number of seconds
    after which trying again makes sense (sent as the Retry-After header)."""

    status = 429
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int, code: ErrorCode | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the fix."""
