"""The OpenAPI 3.1 document of widget API v1 (served at /api/v1/openapi.json).

The document is openapi.yaml, next to this module; here it gets what comes from the code: the
server's address, the chat states (Status), the error codes (ErrorCode) and the languages
Laura has texts in (Language).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from ruamel.yaml import YAML

from ..errors import ErrorCode
from ..resources import resource
from ..status import Status
from ..texts import available_languages

SPEC = resource("web", "openapi.yaml")


@functools.cache
def _template() -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe").load(SPEC.read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    schemas["Status"]["enum"] = [status.value for status in Status]
    schemas["ErrorCode"]["enum"] = [code.value for code in ErrorCode]
    schemas["Language"]["enum"] = list(available_languages())
    return doc


def openapi_document(server_url: str) -> dict[str, Any]:
    """The document, for a server at server_url (web.public_url)."""
    doc = copy.deepcopy(_template())
    doc["servers"] = [{"url": server_url}]
    return doc
