"""What an uploaded file is, read from its bytes (the name and the client's Content-Type
are not trusted), and a thumbnail of an image.

Kept: photos and scans (JPEG, PNG, GIF, WebP, TIFF, BMP, and phones' HEIC), PDF, and
office documents (Word, Excel and PowerPoint, old and new, and OpenDocument). Images are
opened with Pillow, which checks the file really is the image it claims and refuses a
decompression bomb; new office documents are zip packages whose parts name what they
are; old ones are OLE2 containers, for which only the name says which program made them.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIZE = (320, 320)
# Pillow's own guard is a warning at 89 million pixels and an error at twice that; a
# scan at 600 dpi of an A3 page is about 70 million, so the warning is our limit.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}
OOXML_PARTS = {
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
}
OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
OLE2_BY_SUFFIX = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
ACCEPTED = "images (JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC), PDF, or office documents"


class NotEvidence(ValueError):
    """The file is none of the kinds kept, or is broken."""


def sniff(path: Path, filename: str = "") -> str:
    """The file's media type, from its content; raises NotEvidence."""
    with path.open("rb") as source:
        head = source.read(2048)
    if not head:
        raise NotEvidence("the file is empty")
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif"):
        return "image/heic"
    if head.startswith(OLE2):
        return OLE2_BY_SUFFIX.get(Path(filename).suffix.lower(), "application/x-ole-storage")
    if head.startswith(b"PK\x03\x04"):
        return _package(path)
    return _image(path)


def _package(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            if "mimetype" in names:
                declared = package.read("mimetype")[:100].decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return declared
            if "[Content_Types].xml" in names:
                for part, media_type in OOXML_PARTS.items():
                    if part in names:
                        return media_type
    except (zipfile.BadZipFile, OSError) as error:
        raise NotEvidence(f"a broken zip package: {error}") from error
    raise NotEvidence(f"a zip archive that is not an office document; accepted: {ACCEPTED}")


def _image(path: Path) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                kind = image.format or ""
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombWarning) as error:
        raise NotEvidence(f"not a kind of file kept as evidence; accepted: {ACCEPTED}") from error
    except Image.DecompressionBombError as error:
        raise NotEvidence(f"an image of too many pixels: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise NotEvidence(f"a broken image: {error}") from error
    if kind not in IMAGE_TYPES:
        raise NotEvidence(f"an image of kind {kind}; accepted: {ACCEPTED}")
    if width * height > MAX_PIXELS:
        raise NotEvidence(f"an image of {width}×{height} pixels, more than {MAX_PIXELS}")
    return IMAGE_TYPES[kind]


def thumbnail(path: Path, media_type: str) -> bytes | None:
    """A JPEG at most 320 pixels a side, upright as the camera held it; None for what is
    not a picture (or a picture Pillow cannot draw, such as HEIC)."""
    if media_type not in IMAGE_TYPES.values():
        return None
    try:
        with Image.open(path) as image:
            image.seek(0)
            upright = ImageOps.exif_transpose(image) or image
            small = upright.convert("RGB")
            small.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80, optimize=True)
    except (OSError, ValueError, SyntaxError):
        return None
    return out.getvalue()
