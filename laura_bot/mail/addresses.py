"""The one rule for an e-mail address Laura sends to.

Appointment mails go to an address a visitor or a staff member typed, so the address is checked
before it reaches a mail header, an SMTP envelope or an iCalendar ORGANIZER/ATTENDEE: a CR or LF
there could add a header or a property, and a display name ("Eve <eve@example.org>") would let
the text people see differ from where the mail goes. email-validator does the RFC 5321/5322
syntax (without DNS: deliverability is the mail server's job, and a look-up would block).
"""

from __future__ import annotations

import email_validator

MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less the angle brackets


class BadAddress(ValueError):
    """Not an address Laura can send to. The message names the problem, never the address:
    it may end up in a log."""


def check_address(value: str) -> str:
    """The address in its normalised ASCII form (the domain lower-cased and, for an
    internationalised domain, in IDNA "xn--" form), or BadAddress.

    Refused: anything with CR, LF or another control character, a display name or angle
    brackets, no dot in the domain (so no "a@localhost"), special-use domains such as .test
    or .local, a local part that is not ASCII (it would need SMTPUTF8, which many servers lack),
    and anything over 254 characters."""
    if not isinstance(value, str):
        raise BadAddress("an e-mail address must be text")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadAddress("an e-mail address cannot contain control characters or line breaks")
    value = value.strip()
    if not value:
        raise BadAddress("the e-mail address is empty")
    if len(value) > MAX_LENGTH:
        raise BadAddress(f"an e-mail address has at most {MAX_LENGTH} characters")
    try:
        result = email_validator.validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except email_validator.EmailNotValidError as e:
        raise BadAddress(str(e)) from None
    normalised = result.ascii_email or result.normalized
    if len(normalised) > MAX_LENGTH:  # IDNA can make a domain longer
        raise BadAddress(f"an e-mail address has at most {MAX_LENGTH} characters")
    return normalised
