"""Attachments: type by content, metadata gone, pixels intact, safe names and headers."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Collection, Sequence
from typing import Any
from urllib.parse import unquote

import pikepdf
import pytest
from PIL import ExifTags, Image, ImageChops, ImageSequence, ImageStat
from PIL.PngImagePlugin import PngImageFile, PngInfo

from laura_bot import media, pdfcheck
from laura_bot.media import (
    DEFAULT_TYPES,
    IMAGE_TYPES,
    Checked,
    Refused,
    inspect_staff_file,
    inspect_upload,
    safe_name,
    serve_headers,
)

MB = 1024 * 1024
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator='
    b'"Jan Secret"/></rdf:RDF></x:xmpmeta>'
)


def raw_pdf(
    catalog: bytes = b"",
    page: bytes = b"",
    objects: Sequence[bytes] = (),
    packed: Sequence[bytes] = (),
    packed_dict: bytes = b"",
    eol: bytes = b"\n",
) -> bytes:
    """A PDF written by hand, as an attacker would. Objects 1-3 are the catalog, the page tree
    and its one page (`catalog` and `page` are added to their dictionaries); `objects` are
    numbered on from 4, then come the `packed` ones, compressed in an object stream whose
    dictionary ends in `packed_dict` and whose `stream` keyword is followed by `eol`. An xref
    stream lists them all, as a real writer would."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> " + page + b" >>",
        *objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries: dict[int, bytes] = {}  # xref stream rows, /W [1 4 1]

    def put(number: int, body: bytes) -> None:
        entries[number] = b"\x01" + len(out).to_bytes(4, "big") + b"\x00"
        out.extend(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    for number, body in enumerate(bodies, 1):
        put(number, body)
    stream = len(bodies) + len(packed) + 1
    if packed:
        heads, texts = b"", b""
        for index, body in enumerate(packed):
            entries[len(bodies) + 1 + index] = b"\x02" + stream.to_bytes(4, "big") + bytes([index])
            heads += b"%d %d " % (len(bodies) + 1 + index, len(texts))
            texts += body + b"\n"
        data = zlib.compress(heads + texts)
        put(
            stream,
            b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d %s>>\nstream%s%s"
            b"\nendstream" % (len(packed), len(heads), len(data), packed_dict, eol, data),
        )
    xref, start = stream + 1, len(out)
    entries[xref] = b"\x01" + start.to_bytes(4, "big") + b"\x00"
    table = b"".join(entries.get(number, bytes(6)) for number in range(xref + 1))
    return bytes(out) + (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 1] /Root 1 0 R /Length %d >>\nstream\n%s"
        b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n"
        % (xref, xref + 1, len(table), table, start)
    )


PDF = raw_pdf()


# --- fixtures made on the spot -----------------------------------------------------------------


def gradient(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """Smooth, so that JPEG round trips stay close; not symmetric, so rotation shows."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)]
    )
    return image.convert(mode)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Artist] = "Jan Secret"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 5.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 10.0)
    return exif


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def with_jpeg_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """Insert an APPn/COM segment right after SOI (how IPTC sits in a camera JPEG)."""
    return jpeg[:2] + struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload + jpeg[2:]


def png_header_only(width: int, height: int, bit_depth: int = 1, color_type: int = 0) -> bytes:
    """A tiny PNG claiming huge dimensions: a decompression bomb without the megabytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_metadata(data: bytes) -> None:
    image = opened(data)
    assert len(image.getexif()) == 0
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    for key in ("exif", "xmp", "comment", "XML:com.adobe.xmp", "Author", "photoshop"):
        assert key not in image.info
    for secret in (b"Exif\x00\x00", b"SecretCam", b"Jan Secret", b"Photoshop 3.0", b"xmpmeta"):
        assert secret not in data


def upload(data: bytes, name: str = "foto.jpg", max_bytes: int = 10 * MB) -> Checked:
    return inspect_upload(data, name, DEFAULT_TYPES, max_bytes)


def refused(
    data: bytes,
    name: str = "foto.jpg",
    allowed: Collection[str] = DEFAULT_TYPES,
    max_bytes: int = 10 * MB,
) -> Refused:
    with pytest.raises(Refused) as caught:
        inspect_upload(data, name, allowed, max_bytes)
    return caught.value


# --- metadata stripping ------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_xmp_iptc_and_comment_and_is_turned_upright() -> None:
    original = gradient(64, 48)
    source = encode(original, "JPEG", quality=95, exif=exif_with_gps(6), xmp=XMP, comment=b"hi")
    source = with_jpeg_segment(source, 0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00Jan Secret")
    source = with_jpeg_segment(source, 0xFE, b"Jan Secret was here")
    assert opened(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS

    checked = upload(source, "foto.jpg")

    assert (checked.mime, checked.kind, checked.name) == ("image/jpeg", "image", "foto.jpg")
    assert_no_metadata(checked.data)
    result = opened(checked.data)
    assert result.format == "JPEG"
    # Orientation 6 means "rotate 90° clockwise to display": applied, as the tag is gone.
    assert result.size == (48, 64) == (checked.width, checked.height)
    expected = opened(source).transpose(Image.Transpose.ROTATE_270)
    difference = ImageStat.Stat(ImageChops.difference(result, expected)).mean
    assert max(difference) < 3


def test_png_loses_text_exif_and_xmp_with_pixels_identical() -> None:
    original = Image.new("RGBA", (40, 30))
    original.putdata(
        [(x * 6, y * 8, (x * y) % 256, (x + y) * 3) for y in range(30) for x in range(40)]
    )
    info = PngInfo()
    info.add_text("Author", "Jan Secret")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    source = encode(original, "PNG", pnginfo=info, exif=exif_with_gps())
    assert opened(source).info.get("Author") == "Jan Secret"

    checked = upload(source, "scherm.png")

    assert checked.mime == "image/png"
    assert_no_metadata(checked.data)
    result = opened(checked.data)
    assert isinstance(result, PngImageFile) and result.text == {}
    assert result.mode == "RGBA"
    assert result.tobytes() == original.tobytes()
    assert ImageChops.difference(result, original).getbbox() is None


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_png_modes_round_trip_exactly(mode: str) -> None:
    original = gradient(50, 20, "RGB").convert(mode) if mode != "I;16" else None
    if original is None:
        original = Image.new("I;16", (50, 20))
        original.putdata([x * 1300 + y for y in range(20) for x in range(50)])
    checked = upload(encode(original, "PNG"), "x.png")
    result = opened(checked.data)
    assert result.mode == original.mode
    assert result.tobytes() == original.tobytes()
    assert checked.thumbnail is not None
    opened(checked.thumbnail)


def test_palette_png_keeps_its_transparency() -> None:
    original = Image.new("P", (30, 30), 0)
    original.putpalette([0, 0, 0, 200, 0, 10, 0, 90, 200])
    original.paste(1, (5, 5, 25, 25))
    original.paste(2, (10, 10, 20, 20))
    source = encode(original, "PNG", transparency=0)
    checked = upload(source, "logo.png")
    result = opened(checked.data)
    assert result.info.get("transparency") == 0
    assert result.convert("RGBA").tobytes() == opened(source).convert("RGBA").tobytes()
    assert checked.thumbnail_mime == "image/png"


def test_webp_lossless_stays_lossless_and_loses_exif_and_xmp() -> None:
    original = gradient(33, 21, "RGBA")
    source = encode(original, "WEBP", lossless=True, exif=exif_with_gps(), xmp=XMP)
    assert b"EXIF" in source and b"XMP " in source

    checked = upload(source, "plaatje.webp")

    assert checked.mime == "image/webp"
    assert_no_metadata(checked.data)
    assert b"VP8L" in checked.data and b"VP8 " not in checked.data
    assert opened(checked.data).convert("RGBA").tobytes() == original.tobytes()


def test_webp_lossy_stays_close() -> None:
    original = gradient(64, 48)
    checked = upload(encode(original, "WEBP", quality=95, exif=exif_with_gps()), "p.webp")
    assert_no_metadata(checked.data)
    assert b"VP8 " in checked.data
    assert max(ImageStat.Stat(ImageChops.difference(opened(checked.data), original)).mean) < 4


def animated_gif(transparent: bool) -> tuple[bytes, list[Image.Image]]:
    frames = []
    for index in range(3):
        frame = Image.new("RGBA", (24, 16), (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
        frame.paste((200, 30 * index, 10, 255), (index * 6, 2, index * 6 + 8, 12))
        frames.append(frame if transparent else frame.convert("RGB"))
    data = encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
        comment=b"Jan Secret",
        disposal=2,
    )
    return data, [frame.convert("RGBA") for frame in ImageSequence.Iterator(opened(data))]


@pytest.mark.parametrize("transparent", [False, True])
def test_animated_gif_keeps_every_frame_and_loses_its_comment(transparent: bool) -> None:
    source, expected = animated_gif(transparent)
    assert b"Jan Secret" in source

    checked = upload(source, "zwaai.gif")

    assert checked.mime == "image/gif"
    assert b"Jan Secret" not in checked.data
    result = Image.open(io.BytesIO(checked.data))
    assert "comment" not in result.info
    assert result.n_frames == 3
    assert result.info.get("loop") == 0
    durations = []
    for index, frame in enumerate(ImageSequence.Iterator(result)):
        frame.load()
        durations.append(frame.info["duration"])
        assert frame.convert("RGBA").tobytes() == expected[index].tobytes(), index
    assert durations == [100, 200, 300]
    assert checked.thumbnail is not None
    thumbnail = opened(checked.thumbnail).convert("RGBA")
    assert thumbnail.size == (24, 16)
    pixel = thumbnail.getpixel((2, 6))
    assert isinstance(pixel, tuple)
    red, green, blue, alpha = pixel
    assert abs(red - 200) < 12 and green < 12 and abs(blue - 10) < 12 and alpha == 255


def test_animated_png_keeps_its_frames() -> None:
    frames = [gradient(20, 10, "RGBA"), Image.new("RGBA", (20, 10), (1, 2, 3, 128))]
    source = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[50, 70])
    result = Image.open(io.BytesIO(upload(source, "a.png").data))
    assert result.n_frames == 2
    for index, frame in enumerate(ImageSequence.Iterator(result)):
        assert frame.convert("RGBA").tobytes() == frames[index].tobytes()


def test_mpo_is_served_as_its_first_picture_without_metadata() -> None:
    second = Image.new("RGB", (64, 48), "blue")
    source = encode(gradient(), "MPO", save_all=True, append_images=[second], exif=exif_with_gps())
    assert opened(source).format == "MPO"
    checked = upload(source, "stereo.mpo")
    assert (checked.mime, checked.name) == ("image/jpeg", "stereo.jpg")
    assert_no_metadata(checked.data)
    result = opened(checked.data)
    assert result.format == "JPEG" and getattr(result, "n_frames", 1) == 1
    assert max(ImageStat.Stat(ImageChops.difference(result, gradient())).mean) < 3


def test_cmyk_jpeg_is_accepted_with_an_rgb_thumbnail() -> None:
    checked = upload(encode(gradient(40, 40, "CMYK"), "JPEG"), "print.jpg")
    assert opened(checked.data).mode == "CMYK"
    assert checked.thumbnail_mime == "image/jpeg"
    assert opened(checked.thumbnail or b"").mode == "RGB"


# --- thumbnails --------------------------------------------------------------------------------


def test_transparent_image_gets_a_png_thumbnail_within_320_px() -> None:
    original = Image.new("RGBA", (1000, 600), (0, 0, 0, 0))
    original.paste((255, 0, 0, 255), (100, 100, 900, 500))
    checked = upload(encode(original, "PNG"), "groot.png")
    assert (checked.width, checked.height) == (1000, 600)
    assert checked.thumbnail_mime == "image/png"
    thumbnail = opened(checked.thumbnail or b"")
    assert thumbnail.format == "PNG" and thumbnail.mode == "RGBA"
    assert max(thumbnail.size) <= 320 and thumbnail.size == (320, 192)
    assert thumbnail.getchannel("A").getpixel((0, 0)) == 0


def test_opaque_image_gets_a_jpeg_thumbnail_and_small_ones_are_not_enlarged() -> None:
    big = upload(encode(gradient(700, 1400), "PNG"), "lang.png")
    assert big.thumbnail_mime == "image/jpeg"
    assert opened(big.thumbnail or b"").size == (160, 320)
    # RGBA with nothing see-through is still a JPEG thumbnail.
    small = upload(encode(gradient(50, 40, "RGBA"), "PNG"), "klein.png")
    assert small.thumbnail_mime == "image/jpeg"
    assert opened(small.thumbnail or b"").size == (50, 40)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("foto.png", "foto.jpg"),
        ("foto.JPEG", "foto.JPEG"),
        ("foto", "foto.jpg"),
        ("", "bestand.jpg"),
        ("Scan 12.03.2024", "Scan 12.03.2024.jpg"),
        ("report.final", "report.final.jpg"),
        ("photo\u202egpj.exe", "photogpj.jpg"),
        ("../../etc/foto.html", "foto.jpg"),
    ],
)
def test_image_name_gets_the_extension_of_its_content(name: str, expected: str) -> None:
    assert upload(encode(gradient(8, 8), "JPEG"), name).name == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\boot.ini", "boot.ini"),
        ("C:\\Users\\jan\\Desktop\\brief.pdf", "brief.pdf"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("a\u2066b\u2069c\u202ad.txt", "abcd.txt"),
        ("a\x00b\x1fc\x7fd.txt", "abcd.txt"),
        ("a\r\nb\x85c.txt", "a b c.txt"),
        ("...", "bestand"),
        ("  .bashrc", "bashrc"),
        ("trailing. . ", "trailing"),
        ("tab\there  and\u2028line.txt", "tab here and line.txt"),
        ('a<b>c:d|e?f*g"h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("u\u0308berweisung.pdf", "\u00fcberweisung.pdf"),
        ("dir/", "bestand"),
        ("überweisung 📄.pdf", "überweisung 📄.pdf"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected
    assert safe_name(expected) == expected  # idempotent


def test_safe_name_default_and_lone_surrogates() -> None:
    assert safe_name("", "file") == "file"
    assert safe_name("/../", default="x") == "x"
    safe_name("a\udcffb.pdf").encode("utf-8")  # would raise if the surrogate stayed


def test_safe_name_cuts_long_names_but_keeps_the_extension() -> None:
    assert safe_name("a" * 300 + ".pdf") == "a" * 96 + ".pdf"
    assert safe_name("b" * 300) == "b" * 100
    assert safe_name("ü" * 300 + ".jpeg") == "ü" * 95 + ".jpeg"
    long_extension = safe_name("c" * 50 + "." + "d" * 250)
    assert len(long_extension) == 100
    # A long name with a wrong extension gets the right one, still within the limit.
    name = upload(encode(gradient(8, 8), "JPEG"), "x" * 300 + ".png").name
    assert name == "x" * 96 + ".jpg"


# --- refusals ----------------------------------------------------------------------------------


def test_html_named_as_a_photo_is_refused() -> None:
    error = refused(b"<!doctype html><script>alert(1)</script>", "foto.png")
    assert error.code == "file_type_not_allowed"
    assert error.message == (
        "This type of file cannot be sent. "
        "You can send photos (JPEG, PNG, GIF, WebP) and PDF documents."
    )


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"PK\x03\x04" + b"\x00" * 100,
        b"MZ\x90\x00" + b"\x00" * 100,
        b"Hallo, dit is gewoon tekst.\n",
        b"junk before\n" + PDF,
    ],
)
def test_other_content_is_refused_even_when_its_type_is_listed(data: bytes) -> None:
    allowed = DEFAULT_TYPES | {"image/svg+xml", "text/html", "application/zip"}
    assert refused(data, "bijlage.png", allowed=allowed).code == "file_type_not_allowed"


def test_message_names_only_the_allowed_kinds() -> None:
    jpeg = encode(gradient(8, 8), "JPEG")
    assert refused(jpeg, allowed={"application/pdf"}).message.endswith("send PDF documents.")
    error = refused(PDF, "a.pdf", allowed={"image/png", "image/webp"})
    assert error.code == "file_type_not_allowed"
    assert error.message.endswith("send photos (PNG, WebP).")
    assert refused(PDF, allowed=set()).message == "Files cannot be sent here."


def test_truncated_images_are_unreadable() -> None:
    noisy = Image.effect_noise((200, 200), 64).convert("RGB")
    for fmt in ("JPEG", "PNG", "GIF", "WEBP"):
        data = encode(noisy, fmt)
        assert refused(data[: len(data) // 2]).code == "file_unreadable", fmt
    assert refused(b"\x89PNG\r\n\x1a\n\x00\x00").code == "file_unreadable"


def test_too_large_is_refused_before_anything_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(media.Image, "open", no_decoding)
    error = refused(b"\xff\xd8\xff" + bytes(5 * MB), max_bytes=2 * MB)
    assert error.code == "file_too_large"
    assert error.message == "This file is too large: the limit is 2 MB."
    assert refused(bytes(20_000_000), max_bytes=10_000_000).message.endswith("9.5 MB.")
    assert refused(b"x" * 2000, max_bytes=1000).message.endswith("limit is 1000 bytes.")
    assert refused(b"x" * 60_000, max_bytes=50_000).message.endswith("limit is 48 kB.")


def test_exactly_max_bytes_is_fine() -> None:
    assert upload(PDF, "a.pdf", max_bytes=len(PDF)).mime == "application/pdf"


def test_empty_is_refused() -> None:
    assert refused(b"").code == "file_empty"
    with pytest.raises(Refused) as caught:
        inspect_staff_file(b"", "x", None, MB)
    assert caught.value.code == "file_empty"


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20000, 20000),  # beyond twice Pillow's limit: Pillow raises
        (10000, 10000),  # between once and twice: Pillow only warns
        (8000, 6000),  # within Pillow's limit, beyond Laura's 40 megapixels
    ],
)
def test_decompression_bombs_are_refused_without_warnings(width: int, height: int) -> None:
    bomb = png_header_only(width, height)
    assert len(bomb) < 200
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = refused(bomb, "bom.png")
    assert error.code == "file_too_large"
    assert error.message == "This image is too large: the limit is 40 megapixels."
    assert caught == []


def test_long_animations_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = animated_gif(False)
    monkeypatch.setattr(media, "MAX_ANIMATION_PIXELS", 24 * 16 * 2)
    assert refused(source, "lang.gif").code == "file_too_large"
    # Staff may still send it; the visitor gets it as a download.
    assert inspect_staff_file(source, "lang.gif", "image/gif", MB).mime == (
        "application/octet-stream"
    )


def test_image_type_not_in_allowed_is_refused() -> None:
    gif = encode(gradient(8, 8), "GIF")
    allowed = IMAGE_TYPES - {"image/gif"}
    assert refused(gif, "a.gif", allowed=allowed).code == "file_type_not_allowed"


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_is_accepted_unchanged() -> None:
    checked = upload(PDF, "verslag.docx")
    assert checked == Checked(
        data=PDF,
        mime="application/pdf",
        name="verslag.pdf",
        kind="file",
        width=None,
        height=None,
        thumbnail=None,
        thumbnail_mime=None,
    )


def test_pdf_with_junk_after_eof_is_fine_but_a_cut_one_is_not() -> None:
    assert upload(PDF + b"\r\n" + b" " * 500, "a.pdf").data == PDF + b"\r\n" + b" " * 500
    assert refused(PDF[:-10], "a.pdf").code == "file_unreadable"
    assert refused(PDF, "a.pdf", allowed=IMAGE_TYPES).code == "file_type_not_allowed"


def made_pdf(
    change: Callable[[pikepdf.Pdf], None] | None = None, pages: int = 1, **save: Any
) -> bytes:
    """A PDF written by pikepdf, with object streams as most writers use them today."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(200, 200))
    if change is not None:
        change(pdf)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, **save)
    return out.getvalue()


def internal_links(pdf: pikepdf.Pdf) -> None:
    """Jumps within the document: a link, a bookmark and where to open: all harmless."""
    first, last = pdf.pages[0], pdf.pages[-1]
    jump = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=[last.obj, pikepdf.Name.Fit])
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, A=jump)
    link.Rect = [0, 0, 50, 50]
    first.Annots = pdf.make_indirect([pdf.make_indirect(link)])
    pdf.Root.OpenAction = [first.obj, pikepdf.Name.Fit]  # a destination, not an action
    with pdf.open_outline() as outline:
        outline.root.append(pikepdf.OutlineItem("Einde", len(pdf.pages) - 1))


def attachment(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["note.txt"] = pikepdf.AttachedFileSpec(pdf, b"hello", mime_type="text/plain")


JS = b"<< /S /JavaScript /JS (app.alert(1)) >>"
URI = b"<< /S /URI /URI (http://example.invalid/) >>"
ACTIVE_MESSAGE = (
    "This PDF contains scripts, actions or embedded files and cannot be sent. "
    "Print it to a new PDF (or send a photo of it) and try again."
)


def annotated(annotation: bytes, catalog: bytes = b"") -> bytes:
    """A PDF whose page has one annotation, object 4."""
    return raw_pdf(catalog=catalog, page=b"/Annots [4 0 R]", objects=[annotation])


ACTIVE_PDFS = {
    # The regex check looked for /ObjStm after the last " obj" ahead of `stream`: text in the
    # stream's dictionary moved that " obj", and the stream was not looked into.
    "javascript-in-object-stream-behind-obj-text": raw_pdf(
        catalog=b"/OpenAction 4 0 R", packed=[JS], packed_dict=b"/Foo (x obj) "
    ),
    # `stream` then a lone CR (readers take it): the regex wanted CRLF or LF.
    "javascript-in-object-stream-after-lone-cr": raw_pdf(
        catalog=b"/OpenAction 4 0 R", packed=[JS], eol=b"\r"
    ),
    # A file on a network share, opened by itself: Windows sends the user's login hash.
    "openaction-gotor-network-share": raw_pdf(
        catalog=rb"/OpenAction << /S /GoToR /F (\\\\host\\share\\x.pdf) /D [0 /Fit] >>"
    ),
    "openaction-uri": raw_pdf(catalog=b"/OpenAction " + URI),
    "page-additional-action": raw_pdf(page=b"/AA << /O << /S /Named /N /Print >> >>"),
    "link-javascript": annotated(b"<< /Subtype /Link /Rect [0 0 9 9] /A " + JS + b" >>"),
    "link-uri": annotated(b"<< /Subtype /Link /Rect [0 0 9 9] /A " + URI + b" >>"),
    "form-field-submitform": annotated(
        b"<< /Subtype /Widget /FT /Btn /Ff 65536 /T (send) /Rect [0 0 9 9] /P 3 0 R /A << "
        b"/S /SubmitForm /F << /FS /URL /F (http://example.invalid/) >> >> >>",
        catalog=b"/AcroForm << /Fields [4 0 R] >>",
    ),
    "form-field-with-a-jump": annotated(
        b"<< /Subtype /Widget /FT /Btn /Ff 65536 /T (ga) /Rect [0 0 9 9] /P 3 0 R "
        b"/A << /S /GoTo /D [0 /Fit] >> >>",
        catalog=b"/AcroForm << /Fields [4 0 R] >>",
    ),
    "file-attachment-annotation": annotated(
        b"<< /Subtype /FileAttachment /Rect [0 0 9 9] /FS << /Type /Filespec /F (a.exe) >> >>"
    ),
    "launch": raw_pdf(catalog=b"/OpenAction << /S /Launch /F (calc.exe) >>"),
    # A jump within the document, then a web page; a "jump" that names a file.
    "goto-then-uri": raw_pdf(catalog=b"/OpenAction << /S /GoTo /D [0 /Fit] /Next " + URI + b">>"),
    "goto-naming-a-file": raw_pdf(
        catalog=rb"/OpenAction << /S /GoTo /D [0 /Fit] /F (\\\\host\\x.pdf) >>"
    ),
    "name-escapes": raw_pdf(catalog=b"/OpenAction << /S /Java#53cript /#4AS (app.alert(1)) >>"),
    "document-javascript": raw_pdf(
        catalog=b"/Names << /JavaScript << /Names [(a) 4 0 R] >> >>", packed=[JS]
    ),
    "embedded-file": made_pdf(attachment),
}


@pytest.mark.parametrize("data", ACTIVE_PDFS.values(), ids=ACTIVE_PDFS.keys())
def test_pdf_with_active_content_is_refused(data: bytes) -> None:
    error = refused(data, "brief.pdf")
    assert (error.code, error.message) == ("file_active_content", ACTIVE_MESSAGE)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (made_pdf(encryption=pikepdf.Encryption(user="geheim", owner="geheim")), "password"),
        (b"%PDF-1.7\n" + b"\x00 not a PDF at all " * 40 + b"\n%%EOF\n", "damaged"),
        # No xref (a reader would rebuild one, each its own way): not checked, so refused.
        (
            b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages "
            b"/Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n",
            "damaged",
        ),
    ],
    ids=["encrypted", "garbage", "no-xref"],
)
def test_pdf_that_cannot_be_checked_is_refused(data: bytes, says: str) -> None:
    error = refused(data, "brief.pdf")
    assert error.code == "file_unreadable" and says in error.message


@pytest.mark.parametrize(
    "data",
    [
        made_pdf(pages=3),
        made_pdf(internal_links, pages=2),
        # Encrypted without a password to open it: qpdf decrypts it, so it is checked.
        made_pdf(encryption=pikepdf.Encryption(user="", owner="eigenaar")),
        # /S and /A mean other things in tagged PDFs, transparency groups and page labels; and an
        # empty /AA has no actions.
        raw_pdf(
            catalog=b"/PageLabels << /Nums [0 << /S /D >>] >> /StructTreeRoot 4 0 R",
            page=b"/Group << /S /Transparency /CS /DeviceRGB >> /AA << >>",
            objects=[
                b"<< /Type /StructElem /S /P /P 4 0 R /A << /O /Layout /Placement /Block >> >>"
            ],
        ),
    ],
    ids=["pages", "internal-links", "owner-password-only", "other-uses-of-s-and-a"],
)
def test_harmless_pdf_is_accepted_byte_for_byte(data: bytes) -> None:
    checked = upload(data, "brief.pdf")
    assert (checked.data, checked.mime, checked.kind) == (data, "application/pdf", "file")


@pytest.mark.parametrize(
    ("limit", "value"),
    [("MAX_PDF_OBJECTS", 5), ("MAX_PDF_ITEMS", 20), ("MAX_PDF_INFLATED", 100)],
)
def test_pdf_check_does_bounded_work(
    monkeypatch: pytest.MonkeyPatch, limit: str, value: int
) -> None:
    data = made_pdf(pages=4)
    assert upload(data, "a.pdf").data == data
    monkeypatch.setattr(pdfcheck, limit, value)
    assert refused(data, "a.pdf").code == "file_too_large"


# --- staff files -------------------------------------------------------------------------------


def test_staff_office_document_is_passed_on_as_a_download() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    data = buffer.getvalue()
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    checked = inspect_staff_file(data, "verslag.docx", mime, 10 * MB)
    assert (checked.data, checked.mime, checked.kind) == (data, "application/octet-stream", "file")
    assert checked.name == "verslag.docx"
    assert checked.thumbnail is None and checked.width is None


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"<html><script>alert(1)</script></html>", "text/html"),
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"junk\n" + PDF, "application/pdf"),
    ],
)
def test_staff_file_type_comes_from_content_not_declaration(data: bytes, declared: str) -> None:
    checked = inspect_staff_file(data, "pagina.html", declared, MB)
    assert (checked.mime, checked.kind, checked.data) == ("application/octet-stream", "file", data)


def test_staff_image_is_stripped_and_thumbnailed() -> None:
    source = encode(gradient(), "JPEG", exif=exif_with_gps(3), xmp=XMP)
    checked = inspect_staff_file(source, "kaart.png", "application/octet-stream", MB)
    assert (checked.mime, checked.kind, checked.name) == ("image/jpeg", "image", "kaart.jpg")
    assert_no_metadata(checked.data)
    assert checked.thumbnail is not None and checked.thumbnail_mime == "image/jpeg"


def test_staff_damaged_image_and_pdf() -> None:
    data = encode(gradient(), "PNG")[:-40]
    checked = inspect_staff_file(data, "kapot.png", "image/png", MB)
    assert (checked.mime, checked.kind, checked.data) == ("application/octet-stream", "file", data)
    pdf = inspect_staff_file(PDF, "brief", None, MB)
    assert (pdf.mime, pdf.name, pdf.data) == ("application/pdf", "brief.pdf", PDF)
    # A PDF that fails the visitors' check still reaches the visitor, but as a download.
    for data in (PDF[:-10], raw_pdf(catalog=b"/OpenAction " + JS), made_pdf(attachment)):
        checked = inspect_staff_file(data, "brief.pdf", "application/pdf", MB)
        assert (checked.mime, checked.kind, checked.name) == (
            "application/octet-stream",
            "file",
            "brief.pdf",
        )
        assert checked.data == data
    with pytest.raises(Refused) as caught:
        inspect_staff_file(PDF, "brief.pdf", None, 10)
    assert caught.value.code == "file_too_large"


# --- serving -----------------------------------------------------------------------------------


def header_filename(disposition: str) -> str:
    return unquote(disposition.split("filename*=UTF-8''", 1)[1], errors="strict")


def assert_safe_header_values(headers: dict[str, str]) -> None:
    for value in headers.values():
        assert "\r" not in value and "\n" not in value
        value.encode("ascii")


def test_non_image_is_an_attachment_with_nosniff() -> None:
    headers = serve_headers("text/html", "file", "pagina.html", inline=True)
    assert headers == {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": (
            "attachment; filename=\"pagina.html\"; filename*=UTF-8''pagina.html"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


def test_images_inline_only_when_verified_and_asked() -> None:
    inline = serve_headers("image/png", "image", "foto.png", inline=True)
    assert inline["Content-Type"] == "image/png"
    assert inline["Content-Disposition"].startswith('inline; filename="foto.png"')
    download = serve_headers("image/png", "image", "foto.png", inline=False)
    assert download["Content-Disposition"].startswith("attachment;")
    unverified = serve_headers("image/png", "file", "foto.png", inline=True)
    assert unverified["Content-Type"] == "application/octet-stream"
    assert unverified["Content-Disposition"].startswith("attachment;")
    svg = serve_headers("image/svg+xml", "image", "a.svg", inline=True)
    assert svg["Content-Type"] == "application/octet-stream"
    assert svg["Content-Disposition"].startswith("attachment;")


def test_pdf_keeps_its_type_but_is_always_a_download() -> None:
    headers = serve_headers("application/pdf", "file", "brief.pdf", inline=True)
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("name", "fallback", "full"),
    [
        ('rapport "x"\r\n.pdf', "rapport _x_.pdf", "rapport _x_.pdf"),
        ("überweisung.pdf", "uberweisung.pdf", "überweisung.pdf"),
        ("отчёт.pdf", "bestand.pdf", "отчёт.pdf"),
        ("100% zeker; echt.pdf", "100_ zeker; echt.pdf", "100% zeker; echt.pdf"),
        ("evil\u202egnp.exe", "evilgnp.exe", "evilgnp.exe"),
        ("x\r\nSet-Cookie: a=b", "x Set-Cookie_ a=b", "x Set-Cookie_ a=b"),
    ],
)
def test_file_names_in_headers(name: str, fallback: str, full: str) -> None:
    headers = serve_headers("application/pdf", "file", name, inline=False)
    assert_safe_header_values(headers)
    disposition = headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{fallback}"; filename*=')
    assert header_filename(disposition) == full


def test_filename_star_is_rfc_5987_encoded() -> None:
    disposition = serve_headers("image/jpeg", "image", "über 1.jpg", True)["Content-Disposition"]
    assert disposition.endswith("filename*=UTF-8''%C3%BCber%201.jpg")


def growing_gif(frames: int, offset: int) -> bytes:
    """A GIF of a 1×1 canvas whose 1-pixel frames sit far outside it: Pillow grows the canvas
    for them, so a file of a few hundred bytes would decode to huge frames."""
    import struct

    out = bytearray(b"GIF89a" + struct.pack("<HH", 1, 1) + bytes([0x80, 0, 0]))
    out += b"\x00\x00\x00\xff\xff\xff"  # a global colour table of two colours
    for _ in range(frames):
        out += b"\x21\xf9\x04\x00\x00\x00\x00\x00"  # graphic control extension
        out += b"\x2c" + struct.pack("<HHHH", offset, offset, 1, 1) + b"\x00"
        out += b"\x02\x02\x44\x01\x00"  # LZW: clear, pixel 0, end
    return bytes(out + b"\x3b")


def test_growing_gif_frames_are_counted_in_total() -> None:
    bomb = growing_gif(30, 6000)
    assert len(bomb) < 1000
    assert refused(bomb, "klein.gif").code == "file_too_large"


def test_jitsi_token_names_one_conference() -> None:
    """The visitor's Jitsi token (prosody token auth): HS256, for that room only, short-lived."""
    import time

    import jwt

    from laura_bot.video import TOKEN_LIFETIME, Video

    config = {
        "video.jitsi_url": "https://meet.example.org",
        "video.jwt_app_id": "laura",
        "video.jwt_secret": "s" * 32,
        "video.jwt_audience": "jitsi",
    }
    video = Video(config, None, None, None)  # type: ignore[arg-type]
    token = video.token("laura0123abcd", "Fenna")
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"], audience="jitsi")
    assert claims["room"] == "laura0123abcd" and claims["sub"] == "meet.example.org"
    assert claims["iss"] == "laura" and claims["context"]["user"]["name"] == "Fenna"
    assert claims["context"]["user"]["moderator"] is False
    assert 0 < claims["exp"] - time.time() <= TOKEN_LIFETIME
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "x" * 32, algorithms=["HS256"], audience="jitsi")
