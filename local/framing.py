"""How long a request's body is, decided as RFC 9112 section 6 decides it, for every server of
local mode (the API's listener, the S3 front, the Lambda and Cognito endpoints).

A request whose body length cannot be determined is refused (`FramingError`; the server answers
400 and closes the connection), never guessed at:
- `Content-Length` is one field of ASCII digits (RFC 9110 section 8.6: `1*DIGIT`; Python's
  `str.isdigit()` also accepts "²" and other Unicode digits, which `int()` then refuses) of at
  most 18 digits (an int64, as Go's net/http `parseContentLength` bounds it; a 5,000-digit value
  is past what `int()` converts). A repeated field is refused even when the values agree: section
  8.6 lets a recipient reject it, and differing values are a request-smuggling vector.
- `Transfer-Encoding` is exactly `chunked`, once (RFC 9112 section 6.3, item 4: a request whose
  final coding is not chunked "MUST" get 400), and never beside `Content-Length` (section 6.1:
  a server "MAY reject" such a request; it is the other smuggling vector).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_DIGITS = re.compile(r"[0-9]{1,18}")


class FramingError(ValueError):
    """The request's framing is malformed; the message says how (for the log)."""


def body_length(content_length: Sequence[str], transfer_encoding: Sequence[str]) -> int | None:
    """The body's length from every `Content-Length` and `Transfer-Encoding` field the request
    carries (in order); None for a chunked body, 0 when neither is present."""
    if transfer_encoding:
        if content_length:
            raise FramingError("both Transfer-Encoding and Content-Length")
        if len(transfer_encoding) != 1 or transfer_encoding[0].strip().lower() != "chunked":
            raise FramingError(f"Transfer-Encoding {', '.join(transfer_encoding)!r} is not chunked")
        return None
    if not content_length:
        return 0
    if len(content_length) != 1:
        raise FramingError(f"{len(content_length)} Content-Length fields")
    value = content_length[0].strip()
    if not _DIGITS.fullmatch(value):
        raise FramingError(f"Content-Length {value[:40]!r} is not a length")
    return int(value)
