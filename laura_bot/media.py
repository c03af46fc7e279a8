"""Attachments: what a file really is, stripped of what it says about its sender, served safely.

Visitors upload photos and PDFs through the widget; staff send files in Matrix that Laura passes
on. The type is decided by the content alone: a file name or a declared type is whatever the
sender chose, and "foto.png" may well be HTML.

Privacy: images are decoded and re-encoded from their pixels, so no EXIF (GPS position, camera
serial, time), XMP, IPTC or comment travels on; the ICC profile stays because colours depend on
it and it says nothing about a person. PDFs are passed on byte for byte: their metadata (author,
software, dates) is NOT stripped.

Safety: a PDF is checked by parsing it with pikepdf (qpdf), every object of it, those packed in
object streams too. A visitor's PDF is refused when it holds active content (scripts, actions
other than a jump within the document, embedded files, media, XFA forms), when qpdf cannot read
it without a complaint (damaged, or in need of a password) and when it is too complex to check.
A staff member's PDF that fails the same check reaches the visitor as a download.

Everything here is pure and synchronous (no I/O); callers run it in a thread executor.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from PIL import ExifTags, Image

from .errors import ErrorCode
from .pdfcheck import PdfProblem, check_pdf
from .textsafety import invisible

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
DEFAULT_TYPES = IMAGE_TYPES | {"application/pdf"}

# Pixels are what decoding costs, not bytes: a 30 kB PNG can unpack to gigabytes. 40 megapixels
# holds any normal phone photo; an animation may hold a few times that over all its frames.
MAX_PIXELS = 40_000_000
MAX_ANIMATION_PIXELS = 50_000_000
MAX_FRAMES = 1000
THUMBNAIL_SIDE = 320
MAX_NAME_LENGTH = 100

_OCTET = "application/octet-stream"
_PDF = "application/pdf"
_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
_LABEL = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}
# The first extension is the one a corrected name gets.
_EXTENSIONS = {
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    _PDF: ("pdf",),
}

# EXIF orientation → the transpose that makes the pixels look right once the tag is gone.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Bidi embeddings, overrides and isolates (and the marks) can make "gpj.exe" display as
# "exe.jpg", and zero-width characters hide what a name says: textsafety.invisible drops them.
# Forbidden in Windows file names, and the double quote would end a quoted header parameter.
_RESERVED = '<>:"|?*'


class Refused(Exception):
    """A file Laura will not take, with a stable ``code`` and a ``message`` a visitor understands.

    Codes (ErrorCode): file_too_large, file_type_not_allowed, file_unreadable, file_empty,
    file_active_content.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Checked:
    """A file as Laura stores and passes it on; every field comes from the content."""

    data: bytes
    mime: str
    name: str
    kind: str
    width: int | None
    height: int | None
    thumbnail: bytes | None
    thumbnail_mime: str | None


def inspect_upload(data: bytes, name: str, allowed: Collection[str], max_bytes: int) -> Checked:
    """A visitor's upload: refused unless its content is one of `allowed` and within max_bytes.

    Types in `allowed` that Laura cannot verify (SVG, for one: it is a script) are never
    accepted; nor is a PDF with active content, or one qpdf cannot read cleanly.
    """
    _check_size(data, max_bytes)
    mime = _sniff_image(data)
    if mime is not None:
        # Refused before decoding: a type the organisation does not take costs no pixels.
        if mime not in allowed:
            raise _not_allowed(allowed)
        return _inspect_image(data, name, mime)
    if _PDF in allowed and data.startswith(b"%PDF-"):
        _check_pdf(data)
        return _as_pdf(data, name)
    raise _not_allowed(allowed)


def inspect_staff_file(
    data: bytes, name: str, declared_mime: str | None, max_bytes: int
) -> Checked:
    """A file staff sent in Matrix: any type is passed on, but only a verified image is
    served as an image (re-encoded without metadata, with a thumbnail); a PDF that passes the
    visitors' check is application/pdf; anything else is application/octet-stream, kind "file".

    `declared_mime` is deliberately not used to decide anything: a Matrix client sets it from
    the file name.
    """
    _check_size(data, max_bytes)
    mime = _sniff_image(data)
    if mime is not None:
        try:
            return _inspect_image(data, name, mime)
        except Refused:
            pass  # damaged or too many pixels: the visitor still gets it, as a download
    elif data.startswith(b"%PDF-"):
        try:
            _check_pdf(data)
            return _as_pdf(data, name)
        except Refused:
            pass  # damaged, active or not to be checked: the visitor gets it as a download
    return Checked(
        data=data,
        mime=_OCTET,
        name=safe_name(name),
        kind="file",
        width=None,
        height=None,
        thumbnail=None,
        thumbnail_mime=None,
    )


def serve_headers(mime: str, kind: str, name: str, inline: bool) -> dict[str, str]:
    """Headers for sending a stored file to the visitor's browser.

    Only a verified image may render in the browser, and even then in a sandbox without
    scripts; everything else is a download the browser must not sniff into HTML.
    """
    if kind == "image" and mime in IMAGE_TYPES:
        content_type = mime
    elif mime == _PDF:
        content_type = _PDF
    else:
        content_type = _OCTET
    disposition = "inline" if inline and content_type in IMAGE_TYPES else "attachment"
    clean = safe_name(name)
    return {
        "Content-Type": content_type,
        "Content-Disposition": (
            f'{disposition}; filename="{_ascii_fallback(clean)}"; '
            f"filename*=UTF-8''{quote(clean, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


def safe_name(name: str, default: str = "bestand") -> str:
    """A file name that cannot climb directories, hide its extension or break a header."""
    name = re.split(r"[/\\]", name)[-1]
    kept: list[str] = []
    for char in name:
        if char in "\t\n\v\f\r\x85" or unicodedata.category(char) in ("Zs", "Zl", "Zp"):
            kept.append(" ")  # tabs and line breaks too: a header must stay on one line
        elif char in _RESERVED:
            kept.append("_")
        elif not invisible(char):  # bidi controls, zero-width characters, fillers
            kept.append(char)
    name = unicodedata.normalize("NFC", " ".join("".join(kept).split()))
    name = re.sub(r" +(\.[^.]*)$", r"\1", name.strip(". "))  # "rapport .pdf" → "rapport.pdf"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            stem = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(". ")
            name = f"{stem}.{extension}"
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(". ")
    return name or default


# --- checks ------------------------------------------------------------------------------------


def _check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise Refused(ErrorCode.FILE_EMPTY, "This file is empty.")
    if len(data) > max_bytes:
        raise Refused(
            ErrorCode.FILE_TOO_LARGE,
            f"This file is too large: the limit is {_size_text(max_bytes)}.",
        )


def _size_text(size: int) -> str:
    # Rounded down, so the limit named is never more than the real one.
    if size >= 1024 * 1024 // 10:
        return f"{int(size * 10 / (1024 * 1024)) / 10:g} MB"
    return f"{size // 1024} kB" if size >= 1024 else f"{size} bytes"


def _not_allowed(allowed: Collection[str]) -> Refused:
    photos = [_LABEL[mime] for mime in _FORMAT if mime in allowed]
    kinds = [f"photos ({', '.join(photos)})"] if photos else []
    if _PDF in allowed:
        kinds.append("PDF documents")
    if not kinds:
        return Refused(ErrorCode.FILE_TYPE_NOT_ALLOWED, "Files cannot be sent here.")
    return Refused(
        ErrorCode.FILE_TYPE_NOT_ALLOWED,
        f"This type of file cannot be sent. You can send {' and '.join(kinds)}.",
    )


def _unreadable() -> Refused:
    return Refused(
        ErrorCode.FILE_UNREADABLE, "This file is damaged or incomplete and cannot be read."
    )


def _too_many_pixels() -> Refused:
    return Refused(
        ErrorCode.FILE_TOO_LARGE,
        f"This image is too large: the limit is {MAX_PIXELS // 1_000_000} megapixels.",
    )


def _sniff_image(data: bytes) -> str | None:
    """The image type the signature claims; Pillow then decodes only that one format."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- PDFs (pdfcheck.py) ----------------------------------------------------------------------

_PDF_REFUSALS = {
    "incomplete": (
        ErrorCode.FILE_UNREADABLE,
        "This file is damaged or incomplete and cannot be read.",
    ),
    "password": (
        ErrorCode.FILE_UNREADABLE,
        "This PDF is protected with a password, so it cannot be checked. Remove the password "
        "(or print it to a new PDF) and try again.",
    ),
    "damaged": (
        ErrorCode.FILE_UNREADABLE,
        "This PDF is damaged and cannot be checked. Print it to a new PDF (or send a photo of "
        "it) and try again.",
    ),
    "too_complex": (
        ErrorCode.FILE_TOO_LARGE,
        "This PDF is too complex to be checked. Print it to a new PDF (or send a photo of it) "
        "and try again.",
    ),
    "active": (
        ErrorCode.FILE_ACTIVE_CONTENT,
        "This PDF contains scripts, actions or embedded files and cannot be sent. Print it to "
        "a new PDF (or send a photo of it) and try again.",
    ),
}


def _check_pdf(data: bytes) -> None:
    try:
        check_pdf(data)
    except PdfProblem as problem:
        code, message = _PDF_REFUSALS[problem.kind]
        raise Refused(code, message) from None


def _as_pdf(data: bytes, name: str) -> Checked:
    return Checked(
        data=data,
        mime=_PDF,
        name=_named(name, _PDF),
        kind="file",
        width=None,
        height=None,
        thumbnail=None,
        thumbnail_mime=None,
    )


def _named(name: str, mime: str) -> str:
    """A safe name whose extension says what the content is: foto.png holding a JPEG → foto.jpg."""
    extensions = _EXTENSIONS[mime]
    base = safe_name(name)
    stem, dot, extension = base.rpartition(".")
    if dot and stem:
        if extension.lower() in extensions:
            return base
        # Only what looks like an extension is replaced (1-4 letters and digits, not all
        # digits); "Scan 12.03.2024" and "report.final" keep their text and get one added.
        if len(extension) <= 4 and extension.isascii() and extension.isalnum():
            if not extension.isdigit():
                base = stem
    return safe_name(f"{base[:MAX_NAME_LENGTH]}.{extensions[0]}")


def _ascii_fallback(name: str) -> str:
    """The plain filename="…" for old clients: ASCII only, nothing a browser would decode."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem, extension = _ascii(stem), _ascii(extension)
    return f"{stem or 'bestand'}.{extension}" if extension else stem or "bestand"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    # Some browsers decode %xx even in the plain parameter; quotes and backslashes end it.
    text = re.sub(r'[^\x20-\x7e]|["%\\]', "_", text)
    return " ".join(text.split()).strip(". ")


# --- images ------------------------------------------------------------------------------------


@dataclass
class _Picture:
    """Decoded frames with nothing but pixels (and palette transparency) left on them."""

    mime: str
    frames: list[Image.Image]
    durations: list[int]
    loop: int | None
    icc_profile: bytes | None
    lossless: bool


def _inspect_image(data: bytes, name: str, mime: str) -> Checked:
    picture = _decode(data, mime)
    first = picture.frames[0]
    width, height = first.size
    encoded = _encode(picture)
    # After encoding: Pillow's convert() of a palette image with transparency changes the
    # source's palette in place, which made the GIF writer emit wrong colours.
    thumbnail, thumbnail_mime = _thumbnail(first, picture.icc_profile)
    return Checked(
        data=encoded,
        mime=mime,
        name=_named(name, mime),
        kind="image",
        width=width,
        height=height,
        thumbnail=thumbnail,
        thumbnail_mime=thumbnail_mime,
    )


def _decode(data: bytes, mime: str) -> _Picture:
    """All frames, fully decoded and turned upright; refused when damaged or too large."""
    try:
        # Pillow only warns between 1x and 2x its own limit; here that is a refusal too.
        # (catch_warnings is process-wide before Python 3.14; a race can at worst let the
        # warning through, as the pixel limit below is checked regardless.)
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            return _decode_frames(data, mime)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels() from error
    except Exception as error:
        # Damaged input makes Pillow raise OSError, ValueError, SyntaxError, EOFError,
        # struct.error and more; to the visitor they all mean the same.
        raise _unreadable() from error


def _decode_frames(data: bytes, mime: str) -> _Picture:
    with Image.open(io.BytesIO(data), formats=[_FORMAT[mime]]) as image:
        if image.width * image.height > MAX_PIXELS:
            raise _too_many_pixels()
        # An MPO (a JPEG with a second, e.g. stereo, picture) is served as its first picture.
        count = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
        if count > MAX_FRAMES or count * image.width * image.height > MAX_ANIMATION_PIXELS:
            raise _too_many_pixels()
        transpose = _ORIENTATION.get(_orientation(image))
        icc_profile = image.info.get("icc_profile") or None
        loop = image.info.get("loop")
        frames: list[Image.Image] = []
        durations: list[int] = []
        total = 0
        for index in range(count):
            image.seek(index)
            image.load()  # a truncated or corrupt file fails here
            # GIF frames can grow the canvas: a tiny file could hold huge frames, each kept.
            total += image.width * image.height
            if image.width * image.height > MAX_PIXELS or total > MAX_ANIMATION_PIXELS:
                raise _too_many_pixels()
            frame = image.copy() if transpose is None else image.transpose(transpose)
            # Privacy: the copy inherits `info` (EXIF, XMP, comments, and Pillow's JPEG writer
            # even falls back to info["comment"]); only palette transparency is pixel data.
            frame.info = {}
            if "transparency" in image.info and image.mode in ("P", "L", "1", "RGB", "I", "I;16"):
                frame.info["transparency"] = image.info["transparency"]
            frames.append(frame)
            durations.append(int(image.info.get("duration") or 0))
    return _Picture(
        mime=mime,
        frames=frames,
        durations=durations,
        loop=loop if isinstance(loop, int) else None,
        icc_profile=icc_profile,
        lossless=mime == "image/webp" and _webp_lossless(data),
    )


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1, upright, when absent or unreadable)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return 1  # broken metadata is thrown away anyway; the pixels stay as stored
    return value if isinstance(value, int) else 1


def _webp_lossless(data: bytes) -> bool:
    """A WebP is lossless when its pixels sit in VP8L chunks only (not in lossy VP8 ones)."""
    tags = set(_riff_chunks(data, 12, len(data), top=True))
    return b"VP8L" in tags and b"VP8 " not in tags


def _riff_chunks(data: bytes, start: int, end: int, top: bool) -> Iterator[bytes]:
    position = start
    while position + 8 <= end:
        tag = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        body = position + 8
        yield tag
        if tag == b"ANMF" and top:  # an animation frame: 16 bytes of placement, then chunks
            yield from _riff_chunks(data, body + 16, min(body + size, end), top=False)
        position = body + size + (size & 1)


def _encode(picture: _Picture) -> bytes:
    """The frames written afresh: only what the options below name ends up in the file."""
    first, rest = picture.frames[0], picture.frames[1:]
    options: dict[str, Any] = {}
    if picture.mime == "image/jpeg":
        options["quality"] = 90
    elif picture.mime == "image/png":
        options["optimize"] = True
    elif picture.mime == "image/webp":
        options.update({"lossless": True} if picture.lossless else {"quality": 90})
    if picture.icc_profile and picture.mime != "image/gif":
        options["icc_profile"] = picture.icc_profile
    if rest:
        options.update(save_all=True, append_images=rest, duration=picture.durations)
        if picture.loop is not None:
            options["loop"] = picture.loop
        # The frames are whole pictures; without "restore to background" a GIF would show
        # earlier frames through the see-through parts of later ones.
        if picture.mime == "image/gif" and any(map(_see_through, picture.frames)):
            options["disposal"] = 2
    out = io.BytesIO()
    first.save(out, _FORMAT[picture.mime], **options)
    encoded = out.getvalue()
    _assert_clean(encoded)
    return encoded


def _assert_clean(encoded: bytes) -> None:
    """Privacy check on our own output, should a Pillow upgrade start copying metadata again."""
    with Image.open(io.BytesIO(encoded)) as image:
        leaked = [
            key for key in ("exif", "xmp", "comment", "XML:com.adobe.xmp") if key in image.info
        ]
        if leaked or len(image.getexif()):
            raise RuntimeError(f"re-encoded image still carries metadata: {leaked}")


def _thumbnail(frame: Image.Image, icc_profile: bytes | None) -> tuple[bytes, str]:
    """A small still of the first frame: PNG when it has transparency, JPEG otherwise."""
    image = _displayable(frame)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    # A CMYK profile does not describe the RGB thumbnail made from it.
    keep_profile = icc_profile and frame.mode != "CMYK"
    options: dict[str, Any] = {"icc_profile": icc_profile} if keep_profile else {}
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", optimize=True, **options)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=85, **options)
    return out.getvalue(), "image/jpeg"


def _see_through(frame: Image.Image) -> bool:
    """Whether some pixel is (partly) transparent, not merely whether the mode could say so."""
    if frame.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return frame.getchannel("A").getextrema() != (255, 255)
    if "transparency" in frame.info:
        return frame.copy().convert("RGBA").getchannel("A").getextrema() != (255, 255)
    return False


def _displayable(frame: Image.Image) -> Image.Image:
    """RGBA when some pixel is see-through, else RGB or L (what JPEG takes)."""
    if _see_through(frame):
        return frame.copy().convert("RGBA")  # a copy: see _inspect_image
    if frame.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in frame.info:
        return frame.copy().convert("RGB")
    if frame.mode in ("RGB", "L"):
        return frame.copy()
    if frame.mode.startswith("I"):  # 16-bit grey: keep the top 8 bits instead of clipping
        return frame.convert("I").point([value >> 8 for value in range(65536)], "L")
    return frame.convert("RGB")
