"""The privacy filter: library log records lose event content, request bodies and exception
texts; Laura's own records pass as they are. (The whole run's log output is also scanned for
every token, chat text and contact detail the tests send: see conftest.py.)"""

from __future__ import annotations

import io
import logging

from laura_bot.logs import install

SECRET = "GEHEIM-logtest-9f8e7d"


def run_through_filter(logger_name: str, emit: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    install(handler)
    logger = logging.getLogger(logger_name)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        emit(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    return stream.getvalue()


def test_mautrix_request_bodies_are_dropped() -> None:
    url = "http://hs/_matrix/client/v3/rooms/!r/send/m.room.message/t1"

    def emit(log: logging.Logger) -> None:
        # What mautrix.api.HTTPAPI._log_request does at DEBUG.
        log.debug(
            f'req #7: PUT {url} {{"msgtype": "m.text", "body": "{SECRET}"}}',  # noqa: G004
            extra={
                "matrix_http_request": {
                    "req_id": 7,
                    "method": "PUT",
                    "url": url,
                    "content": {"body": SECRET},
                    "user": None,
                }
            },
        )

    out = run_through_filter("laura.as.api.bot", emit)
    assert SECRET not in out
    assert "req #7: PUT" in out and "/send/m.room.message/t1" in out


def test_library_records_lose_structured_args_and_exception_texts() -> None:
    def emit(log: logging.Logger) -> None:
        log.error("Failed to deserialize event %s", {"content": {"body": SECRET}})
        try:
            raise ValueError(f"bad value {SECRET}")
        except ValueError:
            log.exception("Exception in Matrix event handler")
        log.warning(f"Something with {{'body': '{SECRET}'}} in it")  # noqa: G004

    out = run_through_filter("mau.as", emit)
    assert SECRET not in out
    assert "Failed to deserialize event" in out and "hidden>" in out
    assert "Exception in Matrix event handler" in out and "ValueError" in out


def test_laura_records_pass_unchanged() -> None:
    out = run_through_filter("laura.router", lambda log: log.info("Event %s moved", "$e1"))
    assert "laura.router Event $e1 moved" in out


def test_tracebacks_keep_frames_but_lose_messages_for_every_logger() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            try:
                int(SECRET)
            except ValueError as e:
                raise RuntimeError(f"could not store {SECRET}") from e
        except RuntimeError:
            log.exception("Unexpected error (reference %s)", "ab12")

    out = run_through_filter("laura.web", emit)
    assert SECRET not in out
    assert "Unexpected error (reference ab12)" in out
    assert "ValueError" in out and "RuntimeError" in out and "test_logs.py" in out


def test_tokens_in_query_strings_are_hidden() -> None:
    line = f'127.0.0.1 "PUT /_matrix/app/v1/transactions/1?access_token={SECRET} HTTP/1.1" 403'
    out = run_through_filter("aiohttp.access", lambda log: log.info(line))
    assert SECRET not in out and "access_token=<hidden>" in out
    out = run_through_filter("aiohttp.access", lambda log: log.info("%s", line))
    assert SECRET not in out
