"""Files as units upload them: phone photos, scanned notices, office documents, and
files pretending to be what they are not."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def photo(width: int = 1200, height: int = 900, seed: int = 0) -> bytes:
    """A JPEG as a phone takes it (EXIF says it was held on its side)."""
    image = Image.new("RGB", (width, height), ((seed * 37) % 256, 120, 80))
    for x in range(0, width, 40):
        for y in range(0, height, 40):
            image.putpixel((x, y), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()


def pixel_bomb() -> bytes:
    """A PNG of a few kilobytes that decodes to 400 million pixels."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf() -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Notice of suspension (scanned)")
    return bytes(document.output())


def docx() -> bytes:
    """The smallest package Word opens: its parts name what it is."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"/>',
        )
        package.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("run.sh", "#!/bin/sh\n")
    return out.getvalue()


HTML_AS_JPEG = b"<html><script>alert(document.cookie)</script></html>"
