"""Whether a PDF is safe to pass on: parsed with pikepdf (qpdf), every object of it, those
packed in object streams too, and refused when it holds active content (scripts, actions other
than a jump within the document, embedded files, media, XFA forms), when qpdf cannot read it
without a complaint (damaged, or in need of a password) and when it is too complex to check.
Pure and synchronous; the caller runs it off the event loop."""

from __future__ import annotations

import io

import pikepdf

# Bounds on the work one PDF can cause. qpdf keeps every object it has parsed (some 100 bytes for
# a number), and a few kB of Flate can hold gigabytes: object streams are decompressed, within
# MAX_PDF_INFLATED together, before qpdf parses them. What qpdf parses of the file itself is
# bounded by the upload's size only: a 10 MB PDF of nothing but numbers takes some 300 MB.
MAX_PDF_OBJECTS = 200_000
MAX_PDF_ITEMS = 2_000_000  # entries of all dictionaries and arrays together
MAX_PDF_INFLATED = 16 * 1024 * 1024  # far above the object streams of any real PDF
# qpdf's limits are process-wide (Laura opens PDFs nowhere else); this one holds for each Flate
# stream qpdf decompresses, such as an xref stream while the file is opened.
pikepdf.settings.set_qpdf_limits(flate_max_memory=MAX_PDF_INFLATED)

# Every type of action (ISO 32000-2, 12.6.4) but /GoTo, a jump within the document: the others
# run scripts or programs, open files, web pages or network shares (which on Windows sends the
# user's login hash), send form data, play media or control the reader.
_PDF_ACTIONS = frozenset(
    f"/{kind}"
    for kind in (
        "GoToR GoToE GoToDp Launch Thread URI Sound Movie Hide Named SubmitForm ResetForm "
        "ImportData SetOCGState Rendition Trans GoTo3DView JavaScript ECMAScript "
        "RichMediaExecute SetState NOP"
    ).split()
)
# Keys that only scripts, embedded files and XFA forms have: /JS of a script action, the
# /JavaScript and /EmbeddedFiles name trees, /EF of an embedded file's specification, /XFA.
_PDF_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"})
# Annotations that hold files or media (and so play or open them).
_PDF_ACTIVE_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
)


class PdfProblem(Exception):
    """Why a PDF is refused: "incomplete", "password", "damaged", "too_complex" or "active"
    (media.py words each for the visitor)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def check_pdf(data: bytes) -> None:
    """Raises PdfProblem unless qpdf reads the PDF without a complaint and it holds no active
    content. The file is only read: when accepted it is passed on byte for byte, as checked.
    """
    if not _pdf_complete(data):
        raise PdfProblem("incomplete")
    try:
        # No recovery: a file with a broken xref is one each reader repairs its own way, and the
        # objects one reader finds and another does not are where content hides from a check.
        with pikepdf.open(
            io.BytesIO(data), attempt_recovery=False, inherit_page_attributes=False
        ) as pdf:
            _check_object_streams(pdf)
            active = _pdf_active(pdf)
            damaged = bool(pdf.get_warnings())
    except PdfProblem:
        raise
    except pikepdf.PasswordError as error:
        raise PdfProblem("password") from error
    except Exception as error:
        # pikepdf.PdfError mostly; damaged input can make qpdf raise about anything.
        raise PdfProblem("damaged") from error
    if active:
        raise PdfProblem("active")
    if damaged:  # something qpdf had to skip or guess: a reader may read it otherwise
        raise PdfProblem("damaged")


def _pdf_complete(data: bytes) -> bool:
    # A PDF ends with %%EOF, perhaps followed by a line ending or some junk; without it the
    # upload was cut short or is not a PDF at all.
    return b"%%EOF" in data[-1024:]


def _check_object_streams(pdf: pikepdf.Pdf) -> None:
    """Counts the objects, and decompresses each object stream once, before qpdf parses the
    objects in it, counting what comes out. Only Flate is taken for an object stream, as qpdf
    limits only that: LZW, for one, could unpack to far more. (A bound, not a guarantee: qpdf
    unpacks one object stream before this looks at it when another's /Length is in it.)"""
    xref = pdf.get_xref_table()
    if len(xref) > MAX_PDF_OBJECTS:
        raise PdfProblem("too_complex")
    numbers = {entry.obj_stream_number for entry in xref.values()}
    inflated = 0
    for number in sorted(number for number in numbers if number is not None):
        stream = pdf.get_object(number, 0)
        if not isinstance(stream, pikepdf.Stream):
            raise PdfProblem("damaged")
        named = stream.get("/Filter")
        filters = named if isinstance(named, pikepdf.Array) else [] if named is None else [named]
        if any(name != pikepdf.Name.FlateDecode for name in filters):
            raise PdfProblem("damaged")
        inflated += len(stream.read_bytes())
        if inflated > MAX_PDF_INFLATED:
            raise PdfProblem("too_complex")


def _pdf_active(pdf: pikepdf.Pdf) -> bool:
    """Whether some dictionary in the PDF makes a reader act by itself or on a click.

    Every object is looked at, those in object streams too, whether or not anything refers to
    it: which objects a reader looks for differs from reader to reader. Dictionaries and arrays
    written inside an object are walked; a reference is not followed, as its object is in
    pdf.objects too. Names are compared as qpdf parsed them, so with #xx escapes undone.
    """
    pending: list[object] = [pdf.trailer, *pdf.objects]
    items = 0
    while pending:
        item = pending.pop()
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, pikepdf.Dictionary):
            if _pdf_active_dictionary(item):
                return True
        elif not isinstance(item, pikepdf.Array):
            continue  # a number, a string, a name; or None: an object qpdf could not read
        items += len(item)
        if items > MAX_PDF_ITEMS:
            raise PdfProblem("too_complex")
        children = item.values() if isinstance(item, pikepdf.Dictionary) else item
        pending.extend(
            child
            for child in children
            if isinstance(child, (pikepdf.Dictionary, pikepdf.Array)) and not child.is_indirect
        )
    return False


def _pdf_active_dictionary(entry: pikepdf.Dictionary) -> bool:
    keys = entry.keys()
    if not _PDF_ACTIVE_KEYS.isdisjoint(keys):
        return True
    kind, subtype = _pdf_name(entry, "/S"), _pdf_name(entry, "/Subtype")
    if kind in _PDF_ACTIONS or subtype in _PDF_ACTIVE_ANNOTATIONS:
        return True
    what = _pdf_name(entry, "/Type")
    if what == "/EmbeddedFile" or (what == "/Action" and kind != "/GoTo"):
        return True
    if kind == "/GoTo" and "/F" in keys:
        return True  # a jump that names a file is not one within the document
    # Additional actions: on opening or closing a page, entering a field and so on. An empty
    # dictionary is harmless; any action in one is refused, even a jump.
    actions = entry.get("/AA")
    if actions is not None and not (isinstance(actions, pikepdf.Dictionary) and not actions):
        return True
    # What a click does (/A of a link, a bookmark or a form field) or opening the document:
    # only a jump within it. /OpenAction may also be a destination (an array), which is only
    # where the document opens; /A of a structure element is its attributes, with no /S.
    opening, click = _pdf_dictionary(entry, "/OpenAction"), _pdf_dictionary(entry, "/A")
    if opening is not None and _pdf_name(opening, "/S") != "/GoTo":
        return True
    if click is not None and "/S" in click:
        # A form field's button acts on its own terms: not even a jump is taken there.
        return subtype == "/Widget" or _pdf_name(click, "/S") != "/GoTo"
    return False


def _pdf_dictionary(entry: pikepdf.Dictionary, key: str) -> pikepdf.Dictionary | None:
    value = entry.get(key)
    if isinstance(value, pikepdf.Stream):
        value = value.stream_dict  # a stream with an action's keys acts as well, in some readers
    return value if isinstance(value, pikepdf.Dictionary) else None


def _pdf_name(entry: pikepdf.Dictionary, key: str) -> str | None:
    value = entry.get(key)
    return str(value) if isinstance(value, pikepdf.Name) else None
