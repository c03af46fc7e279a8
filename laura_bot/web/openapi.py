"""The OpenAPI 3.1 document of widget API v1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from ..db.conversations import Status


def _err(desc: str) -> dict[str, Any]:
    return {
        "description": desc,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _limited(desc: str = "Too many requests") -> dict[str, Any]:
    """A 429: the code says which limit (rate_limited, too_many_waiting); Retry-After when to
    try again."""
    return {
        **_err(desc),
        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
    }


def _json(ref: str, desc: str = "OK") -> dict[str, Any]:
    return {
        "description": desc,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


AUTH_ERRORS = {
    "401": _err("No, a malformed or a wrong bearer token"),
    "404": _err("No such session (or not the caller's: the same answer)"),
}
SESSION_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _cursor_params(max_timeout: int) -> list[dict[str, Any]]:
    """after (the cursor) and timeout (seconds), as the long poll and the stream take them."""
    return [
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
        },
        {
            "name": "timeout",
            "in": "query",
            "schema": {"type": "number", "minimum": 0, "maximum": max_timeout},
        },
    ]


def openapi_document(server_url: str) -> dict[str, Any]:
    """The document, with what every call shares added to each: a JSON body over
    web.max_body_size is 413, and a browser on a web site that is not allowed cannot change
    anything (403)."""
    doc = _document(server_url)
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("413", _err("The request body is too large (too_large)"))
            if method not in ("get", "head") and path.startswith("/api/v1/"):
                responses.setdefault(
                    "403",
                    _err(
                        "Sent by a browser from a web site that is not in web.allowed_origins "
                        "(origin_not_allowed)"
                    ),
                )
    return doc


def _document(server_url: str) -> dict[str, Any]:
    sec: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Laura widget API",
            "version": "1.0.0",
            "description": "The visitor widget's API. Every error is "
            '{"error": {"code", "message"}} with a 4xx status for bad '
            "input; the code is stable, the message is for people. Request bodies are JSON "
            "objects of valid Unicode text (no lone surrogates, no NUL characters) with finite "
            "numbers of at most 2^53-1 (else 400 invalid_text or bad_number). Starting chats, "
            "messages, topic choice and contact requests are rate limited per network address "
            "and per chat: a refused call gets 429 with code rate_limited and a Retry-After "
            "header in whole seconds; try again after that.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {
                "RetryAfter": {
                    "description": "Whole seconds after which the call may be tried again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "Widget": {
                    "type": "object",
                    "properties": {
                        "organization": {"type": "string"},
                        "available": {"type": "boolean"},
                        "languages": {"type": "array", "items": {"type": "string"}},
                        "topics": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "label": {"type": "string"},
                                    "available": {
                                        "type": "boolean",
                                        "description": "The department is open and someone "
                                        "there can take a chat now.",
                                    },
                                },
                            },
                        },
                        "out_of_office": {
                            "type": "string",
                            "description": "The text to show above the contact form when "
                            "nobody is available (in the language asked with ?lang=).",
                        },
                        "files": {
                            "type": "object",
                            "description": "What a visitor may send: refuse other files in "
                            "the browser already (Laura checks again, by content).",
                            "properties": {
                                "max_bytes": {"type": "integer"},
                                "types": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "video": {
                            "type": "boolean",
                            "description": "Laura's own Jitsi server is set up (staff may "
                            "still start a call on another one from Element).",
                        },
                        "consent": {
                            "type": "object",
                            "description": "The consent step: when required, a chat starts "
                            "only with consent: true (POST /sessions).",
                            "properties": {
                                "required": {"type": "boolean"},
                                "text": {"type": "string"},
                                "privacy_url": {"type": ["string", "null"]},
                            },
                        },
                        "attention": {
                            "type": "object",
                            "description": "When staff answer while the chat is closed or "
                            "hidden: a chime (sound), a browser notification (notifications).",
                            "properties": {
                                "sound": {"type": "boolean"},
                                "notifications": {"type": "boolean"},
                            },
                        },
                        "portal": {
                            "type": "object",
                            "description": "Portal mode: enabled, a chat may carry the host "
                            "portal's signed identity (POST /sessions identity); required, "
                            "it must.",
                            "properties": {
                                "enabled": {"type": "boolean"},
                                "required": {"type": "boolean"},
                            },
                        },
                        "branding": {
                            "type": "object",
                            "description": "How the widget looks (config widget.*): its "
                            "colour (white text goes on it), a logo, the corner it sits in, "
                            "and the organisation's own wording of some texts, in the "
                            "language asked with ?lang=.",
                            "properties": {
                                "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                                "logo_url": {"type": ["string", "null"]},
                                "position": {"enum": ["right", "left"]},
                                "texts": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Attachment": {
                    "type": "object",
                    "required": ["id", "name", "mime", "kind", "size"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "mime": {"type": "string", "description": "Determined from the content"},
                        "kind": {"enum": ["image", "file"]},
                        "size": {"type": "integer"},
                        "width": {"type": "integer"},
                        "height": {"type": "integer"},
                    },
                },
                "Video": {
                    "type": "object",
                    "description": "Join with Jitsi's iframe API: load external_api, then "
                    "new JitsiMeetExternalAPI(domain, {roomName: room, jwt, userInfo: "
                    "{displayName}}).",
                    "properties": {
                        "domain": {"type": "string"},
                        "room": {"type": "string"},
                        "url": {"type": "string"},
                        "external_api": {"type": "string"},
                        "display_name": {"type": "string"},
                        "jwt": {"type": ["string", "null"]},
                    },
                },
                "NewSession": {
                    "type": "object",
                    "properties": {
                        "session_id": {"type": "string"},
                        "token": {
                            "type": "string",
                            "description": "Send as Authorization: Bearer",
                        },
                    },
                },
                "Session": {
                    "type": "object",
                    "properties": {
                        "session_id": {"type": "string"},
                        "status": {"enum": [status.value for status in Status]},
                        "topic": {"type": ["string", "null"]},
                        "queue_position": {"type": ["integer", "null"]},
                        "staff": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                        "conversation_id": {
                            "type": "string",
                            "description": "The current chat (a new one after restart)",
                        },
                        "can_rate": {
                            "type": "boolean",
                            "description": "The chat ended with staff and is not rated yet",
                        },
                        "rating": {"type": ["integer", "null"]},
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["seq", "ts", "type"],
                    "properties": {
                        "seq": {"type": "integer"},
                        "ts": {"type": "integer"},
                        "type": {"enum": ["message", "status", "queue", "typing", "video"]},
                        "sender": {"enum": ["visitor", "staff", "bot"]},
                        "name": {"type": "string"},
                        "body": {
                            "type": "string",
                            "description": "The text; for a file, its name",
                        },
                        "attachment": {
                            "$ref": "#/components/schemas/Attachment",
                            "description": "A message that is a file (download it with "
                            "GET .../attachments/{attachment_id})",
                        },
                        "status": {"type": "string"},
                        "position": {"type": "integer"},
                        "names": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "typing: the staff typing now (empty: nobody)",
                        },
                        "video": {
                            "enum": ["started", "ended"],
                            "description": "video: a call was started (join with GET .../video) "
                            "or ended",
                        },
                    },
                },
                "Events": {
                    "type": "object",
                    "properties": {
                        "events": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Event"},
                        },
                        "next": {"type": "integer"},
                    },
                },
            },
        },
        "paths": {
            "/api/v1/widget": {
                "get": {
                    "summary": "Organisation, languages and topics",
                    "parameters": [
                        {
                            "name": "lang",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "Language of out_of_office (default: the first).",
                        }
                    ],
                    "responses": {"200": _json("Widget")},
                }
            },
            "/api/v1/sessions": {
                "post": {
                    "summary": "Start a chat (no account needed)",
                    "requestBody": _body(
                        {
                            "type": "object",
                            "properties": {
                                "name": {
                                    "type": "string",
                                    "maxLength": 60,
                                    "description": "Shown to staff as the visitor's own "
                                    "name: symbols, line breaks and invisible characters are "
                                    "left out, and a name holding the words Laura uses for a "
                                    "signed-in visitor is refused (bad_name).",
                                },
                                "email": {"type": "string", "maxLength": 254},
                                "language": {"enum": ["nl", "en"]},
                                "consent": {
                                    "type": "boolean",
                                    "description": "The visitor agreed to the privacy "
                                    "statement (needed when the widget's consent.required).",
                                },
                                "identity": {
                                    "type": "string",
                                    "maxLength": 4096,
                                    "description": "Portal mode: the JWT (HS256, shared "
                                    "secret) the host portal signed: sub and exp required, "
                                    "name and email optional; they stand over name and email "
                                    "and staff see them as verified.",
                                },
                            },
                        },
                        required=False,
                    ),
                    "responses": {
                        "201": _json("NewSession", "Created"),
                        "400": _err(
                            "Invalid input; bad_name: the name imitates Laura's mark of "
                            "a signed-in visitor; consent_required: agree first; bad_identity, "
                            "identity_expired: the portal's sign-in is wrong or too old"
                        ),
                        "403": _err("identity_required: portal mode needs a signed identity"),
                        "429": _limited("Too many new chats from this address"),
                    },
                }
            },
            "/api/v1/sessions/{id}": {
                "get": {
                    "summary": "The chat's state",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "responses": {"200": _json("Session"), **AUTH_ERRORS},
                },
                "delete": {
                    "summary": "Delete my data: everything about the visitor, now",
                    "description": (
                        "An open chat ends first (staff are told). Then the visitor's "
                        "messages, files, name, e-mail, contact requests and the token "
                        "are deleted from Laura's database, and the chat's rooms, files and "
                        "Matrix user from the homeserver. Only the audit trail's facts (who "
                        "joined or exported the chat, and when) remain. The token no longer "
                        "works afterwards (401)."
                    ),
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "responses": {"204": {"description": "Deleted"}, **AUTH_ERRORS},
                },
            },
            "/api/v1/sessions/{id}/topic": {
                "post": {
                    "summary": "Choose the topic (department)",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["topic_id"],
                            "properties": {"topic_id": {"type": "string"}},
                        }
                    ),
                    "responses": {
                        "200": _json("Session"),
                        "400": _err("Unknown topic"),
                        "409": _err(
                            "A topic was already chosen (topic_already_chosen), or the "
                            "department is closed now (topic_closed)"
                        ),
                        "429": _limited(
                            "Too many tries (rate_limited), or too many chats from this "
                            "address are waiting already (too_many_waiting)"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/messages": {
                "post": {
                    "summary": "Send a message; the same client_txn_id again returns the same seq",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["body", "client_txn_id"],
                            "properties": {
                                "body": {"type": "string"},
                                "client_txn_id": {"type": "string", "maxLength": 64},
                            },
                        }
                    ),
                    "responses": {
                        "201": {
                            "description": "Stored",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"seq": {"type": "integer"}},
                                    }
                                }
                            },
                        },
                        "400": _err("Invalid input"),
                        "409": _err("The chat has ended"),
                        "413": _err("Message too long"),
                        "429": _limited(
                            "Too many messages; send the refused one again after Retry-After "
                            "with the same client_txn_id"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/events": {
                "get": {
                    "summary": "Long poll: events after a seq; answers at once when there are any",
                    "security": sec,
                    "parameters": SESSION_PARAM + _cursor_params(30),
                    "responses": {
                        "200": _json("Events"),
                        "400": _err("Bad query"),
                        "429": _limited(
                            "The chat is open in too many places at once (code too_many_listening)"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/stream": {
                "get": {
                    "summary": "Event stream (Server-Sent Events): the push transport",
                    "description": "Answers at once with one event holding what came after "
                    "the cursor (possibly nothing), then one event each time something new "
                    "comes; each event's data is the long poll's answer ({events, next}) and "
                    "its id is next. A comment line every 20 s keeps the connection open. "
                    "The stream ends after timeout seconds (capped by the server's "
                    "web.max_stream_time; a client that stops reading is cut off 10 s after "
                    "it): open the next from the last id. Without after, "
                    "the Last-Event-ID header is the cursor. Authorization is a header, as "
                    "everywhere: read it with fetch(), not EventSource.",
                    "security": sec,
                    "parameters": SESSION_PARAM + _cursor_params(86400),
                    "responses": {
                        "200": {
                            "description": "The stream",
                            "content": {
                                "text/event-stream": {
                                    # Before OpenAPI 3.2 (itemSchema) this is each event's.
                                    "schema": {
                                        "type": "object",
                                        "required": ["data", "id"],
                                        "properties": {
                                            "data": {
                                                "type": "string",
                                                "contentMediaType": "application/json",
                                                "description": "The long poll's answer: "
                                                "{events, next}",
                                            },
                                            "id": {
                                                "type": "string",
                                                "pattern": "^[0-9]+$",
                                                "description": "next: the cursor to resume from",
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "400": _err("Bad query"),
                        "429": _limited(
                            "The chat is open in too many places at once (code too_many_listening)"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/contact-request": {
                "post": {
                    "summary": "Leave contact details (phone or e-mail required)",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "requestBody": _body(
                        {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "phone": {"type": "string"},
                                "email": {"type": "string"},
                                "message": {"type": "string"},
                                "topic_id": {
                                    "type": "string",
                                    "description": "Before a topic was chosen (the offline "
                                    "form): the department the request is for.",
                                },
                            },
                        }
                    ),
                    "responses": {
                        "201": _json("Session", "Stored"),
                        "400": _err("Invalid input"),
                        "409": _err("The chat is already connected or has ended"),
                        "429": _limited("Too many contact requests"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/language": {
                "post": {
                    "summary": "Switch the chat's language (the visitor chose another in the "
                    "widget): Laura's own texts to the visitor and the transcript follow it",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["language"],
                            "properties": {
                                "language": {
                                    "type": "string",
                                    "description": "One of GET /widget's languages",
                                }
                            },
                        }
                    ),
                    "responses": {
                        "200": _json("Session"),
                        "400": _err("Not one of the languages (code bad_language)"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/wait": {
                "post": {
                    "summary": "Keep waiting after Laura asked for contact details (a new "
                    "dispatch round; the visitor keeps their place in the queue)",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "responses": {
                        "200": _json("Session"),
                        "409": _err("Laura did not ask for contact details"),
                        "429": _limited(
                            "Too many chats from this address are waiting already "
                            "(code too_many_waiting)"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/sessions/{id}/end": {
                "post": {
                    "summary": "End the chat (reason 'declined_contact' when the visitor does not "
                    "want to leave contact details)",
                    "security": sec,
                    "parameters": SESSION_PARAM,
                    "requestBody": _body(
                        {
                            "type": "object",
                            "properties": {"reason": {"type": "string", "maxLength": 40}},
                        },
                        required=False,
                    ),
                    "responses": {
                        "200": _json("Session"),
                        "400": _err("Invalid input (bad_reason: not a string, or too long)"),
                        **AUTH_ERRORS,
                    },
                }
            },
            **_media_paths(sec),
        },
    }


def _media_paths(sec: list[dict[str, list[str]]]) -> dict[str, Any]:
    """Files, typing, video and the transcript."""
    attachment_param = {
        "name": "attachment_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "/api/v1/sessions/{id}/restart": {
            "post": {
                "summary": "A new chat in the same session after the last one ended (the "
                "visitor's details are kept; the old chat stays in the event stream)",
                "security": sec,
                "parameters": SESSION_PARAM,
                "responses": {
                    "200": _json("Session"),
                    "409": _err("The chat has not ended (chat_not_ended)"),
                    "429": _limited(),
                    **AUTH_ERRORS,
                },
            }
        },
        "/api/v1/sessions/{id}/rating": {
            "post": {
                "summary": "Rate the chat that ended: 1-5 stars; 1 or 2 need a comment; once",
                "security": sec,
                "parameters": SESSION_PARAM,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["stars"],
                        "properties": {
                            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
                            "comment": {"type": "string", "maxLength": 2000},
                            "conversation_id": {
                                "type": "string",
                                "description": "The chat the visitor rates (from the session); "
                                "another than the current one is refused (not_ratable)",
                            },
                        },
                    }
                ),
                "responses": {
                    "201": _json("Session"),
                    "400": _err("bad_stars, bad_comment, or comment_required (1-2 stars)"),
                    "409": _err("already_rated, or not_ratable (not ended, or nobody took it)"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/api/v1/sessions/{id}/attachments": {
            "post": {
                "summary": "Send a photo or PDF (multipart/form-data, field file); checked by "
                "content, photos stripped of metadata",
                "security": sec,
                "parameters": SESSION_PARAM,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored; it is in the event stream at seq",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "seq": {"type": "integer"},
                                        "attachment": {"$ref": "#/components/schemas/Attachment"},
                                    },
                                }
                            }
                        },
                    },
                    "400": _err("Not multipart/form-data with a field named file (bad_upload)"),
                    "409": _err("The chat has ended (chat_ended)"),
                    "413": _err("The file is larger than files.max_bytes (file_too_large)"),
                    "422": _err(
                        "Not a file Laura takes: file_type_not_allowed, file_unreadable, "
                        "file_empty, files_not_accepted, file_active_content (a PDF with "
                        "scripts, actions or embedded files)"
                    ),
                    "429": _limited(),
                    **AUTH_ERRORS,
                },
            }
        },
        "/api/v1/sessions/{id}/attachments/{attachment_id}": {
            "get": {
                "summary": "A file of this chat (either side's); images inline, everything else "
                "as a download",
                "security": sec,
                "parameters": SESSION_PARAM
                + [
                    attachment_param,
                    {"name": "thumbnail", "in": "query", "schema": {"enum": ["1"]}},
                    {"name": "download", "in": "query", "schema": {"enum": ["1"]}},
                ],
                "responses": {
                    "200": {"description": "The file's bytes (Content-Type from its content)"},
                    "401": AUTH_ERRORS["401"],
                    "404": _err("No such session, or no such file in it (another chat's file)"),
                },
            }
        },
        "/api/v1/sessions/{id}/typing": {
            "post": {
                "summary": "The visitor is typing (or stopped); staff see it in Element. "
                "draft is shown to staff only when the admin turned typing_preview on",
                "security": sec,
                "parameters": SESSION_PARAM,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["typing"],
                        "properties": {
                            "typing": {"type": "boolean"},
                            "draft": {"type": "string"},
                        },
                    }
                ),
                "responses": {
                    "200": {
                        "description": "preview: whether staff see the draft",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "typing": {"type": "boolean"},
                                        "preview": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "400": _err("typing is not a boolean, or draft not a string"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/api/v1/sessions/{id}/video": {
            "get": {
                "summary": "How to join the chat's video call (staff start it; a visitor cannot)",
                "security": sec,
                "parameters": SESSION_PARAM,
                "responses": {
                    "200": _json("Video"),
                    "409": _err("No video call in this chat now (no_video_call)"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/api/v1/sessions/{id}/transcript.pdf": {
            "get": {
                "summary": "The chat's transcript as a PDF (in the session's language)",
                "security": sec,
                "parameters": SESSION_PARAM,
                "responses": {
                    "200": {
                        "description": "application/pdf, as a download",
                        "content": {"application/pdf": {}},
                    },
                    **AUTH_ERRORS,
                },
            }
        },
    }
