"""A browser-based upload's form (S3 "POST Object"), read once: the same fields decide the policy
check and what moto stores.

moto parses a form its own way (the object key from a field spelled exactly `key`, the body from
the last file part of any name), so `local.s3_guard` never hands it the client's form: it reads
the form here, checks it, and gives moto `canonical_form`, one field per name and one file, so
both see one form.

S3's rules, as AWS documents them:
- field names are case-insensitive (`Content-Type` and `content-type` are one field). AWS's
  pages do not say so in as many words: the form fields are PutObject's HTTP headers
  (`Content-Type`, `Cache-Control`, `x-amz-meta-*`: "POST Object", Request elements), whose names
  are case-insensitive, and MinIO, which mirrors S3, canonicalises them
  (`extractPostPolicyFormValues`, cmd/handler-utils.go);
- "The form data and boundaries (excluding the contents of the file) cannot exceed 20 KB"
  ("Creating an HTML Form (Using AWS Signature Version 4)"): 400
  `MaxPostPreDataLengthExceededError`;
- the file (or text content) is the `file` field, the last one: "Any fields below it are ignored"
  ("POST Object", Request elements);
- "POST requires exactly one file upload per request": 400 `IncorrectNumberOfFilesInPostRequest`;
  a body that is not multipart/form-data: 400 `MalformedPOSTRequest` ("Error responses").
Where S3 would pick one of two readings, the form is refused instead: a field given twice (in any
case) is 400 `InvalidArgument`, a second file part after the first 400
`IncorrectNumberOfFilesInPostRequest`.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from local.sigv4 import AuthError

MAX_PRE_DATA = 20 * 1024
"""S3's limit for the fields before the file."""
_SAFE_NAME = re.compile(r"[\w.\-$]+")
_READ_SIZE = 64 * 1024

Approve = Callable[[Mapping[str, str], str], int]
"""Called with the fields (lower-cased names) and the file's name once the file part starts,
before any of its bytes are read: raises AuthError to refuse the form, or returns the largest
file it accepts."""


@dataclass
class PostUpload:
    """A form that was read whole: its fields (lower-cased names), its file's name, and the file
    (size bytes, in a spooled temporary file the caller closes)."""

    fields: dict[str, str]
    filename: str
    file: IO[bytes]
    size: int


def malformed() -> AuthError:
    return AuthError(
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )


def _too_many_files() -> AuthError:
    return AuthError(
        400,
        "IncorrectNumberOfFilesInPostRequest",
        "POST requires exactly one file upload per request.",
    )


def _boundary(content_type: str) -> bytes:
    media, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if media != "multipart/form-data" or not boundary:
        raise malformed()
    return boundary.encode("latin-1")


class _FormReader:
    """One pass over the body, in the order S3 reads it: fields, the file, then what follows
    (ignored, except a second file)."""

    def __init__(self, approve: Approve, too_large: Callable[[], AuthError]) -> None:
        self.approve, self.too_large = approve, too_large
        self.fields: dict[str, str] = {}
        self.pre_data = 0
        self.field: str | None = None
        self.value = bytearray()
        self.phase = "fields"
        self.filename = ""
        self.limit = 0
        self.size = 0
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    def part(self, name: str | None, filename: str | None) -> None:
        lowered = (name or "").lower()
        if not _SAFE_NAME.fullmatch(lowered):
            raise malformed()
        if self.phase != "fields":
            if lowered == "file":
                raise _too_many_files()
            self.field = None  # "Any fields below it are ignored"
            return
        if lowered == "file":
            self.phase, self.filename = "file", filename or ""
            self.limit = self.approve(dict(self.fields), self.filename)
            return
        if lowered in self.fields or lowered == self.field:
            raise AuthError(
                400, "InvalidArgument", f"POST field {lowered!r} appears more than once."
            )
        self.field, self.value = lowered, bytearray()
        self._count(len(lowered))

    def data(self, chunk: bytes, more: bool) -> None:
        if self.phase == "file":
            self.size += len(chunk)
            if self.size > self.limit:
                raise self.too_large()
            self.file.write(chunk)
            if not more:
                self.phase = "after"
        elif self.phase == "fields" and self.field is not None:
            self._count(len(chunk))
            self.value += chunk
            if not more:
                try:
                    self.fields[self.field] = self.value.decode("utf-8")
                except UnicodeDecodeError:
                    raise malformed() from None
                self.field = None

    def _count(self, size: int) -> None:
        self.pre_data += size
        if self.pre_data > MAX_PRE_DATA:
            raise AuthError(
                400,
                "MaxPostPreDataLengthExceededError",
                "Your POST request fields preceding the upload file were too large.",
            )


def read_post_form(
    stream: IO[bytes],
    length: int,
    content_type: str,
    approve: Approve,
    too_large: Callable[[], AuthError],
) -> PostUpload:
    """Read a `length`-byte multipart body from `stream`; AuthError (S3's) for a form S3 would
    refuse, or one `approve` or the size limit (`too_large()`) refuses, as soon as it is
    known: a refused file is not read on."""
    decoder = MultipartDecoder(_boundary(content_type))
    reader = _FormReader(approve, too_large)
    remaining = length
    read = getattr(stream, "read1", stream.read)  # what has arrived: decide before the rest
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                chunk = read(min(remaining, _READ_SIZE)) if remaining else b""
                if remaining and not chunk:
                    raise malformed()  # the body ended before its Content-Length
                remaining -= len(chunk)
                decoder.receive_data(chunk or None)
            elif isinstance(event, (Field, File)):
                reader.part(event.name, getattr(event, "filename", None))
            elif isinstance(event, Data):
                reader.data(event.data, event.more_data)
            elif isinstance(event, Epilogue):
                break
    except ValueError:  # werkzeug's word for a malformed body
        reader.file.close()
        raise malformed() from None
    except AuthError:
        reader.file.close()
        raise
    if reader.phase == "fields":
        reader.file.close()
        raise _too_many_files()
    reader.file.seek(0)
    return PostUpload(reader.fields, reader.filename, reader.file, reader.size)


def canonical_form(fields: Mapping[str, str], upload: PostUpload) -> tuple[IO[bytes], str, int]:
    """The checked form as moto reads it (body, content type, length): each field once under
    its lower-cased name, then the one file. The file part's name is `${filename}`, which moto
    substitutes into the key with itself, so the key stays the one that was checked."""
    boundary = uuid.uuid4().hex
    body = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - moto reads it
    for name, value in fields.items():  # names are `_SAFE_NAME`s: nothing to quote
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        body.write(part.encode())
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="${{filename}}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    while chunk := upload.file.read(1 << 20):
        body.write(chunk)
    body.write(f"\r\n--{boundary}--\r\n".encode())
    length = body.tell()
    body.seek(0)
    return body, f"multipart/form-data; boundary={boundary}", length
