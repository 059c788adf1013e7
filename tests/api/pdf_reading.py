"""Reading a PDF back as a person would: its pages drawn as images, its text as a
reader's search finds it (PDFium, the engine of Chrome's viewer)."""

from __future__ import annotations

from PIL import Image


def pdf_pages(content: bytes) -> int:
    import pypdfium2 as pdfium

    return len(pdfium.PdfDocument(content))


def pdf_text(content: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(content)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def pdf_image(content: bytes, page: int = 0, scale: float = 1.5) -> Image.Image:
    import pypdfium2 as pdfium

    image: Image.Image = pdfium.PdfDocument(content)[page].render(scale=scale).to_pil()
    return image.convert("RGB")


def inked(image: Image.Image) -> float:
    """The share of the page that is not white (text, lines and charts drawn)."""
    grey = image.convert("L")
    histogram = grey.histogram()
    dark = sum(histogram[:200])
    return dark / (grey.width * grey.height)


def pixels_of(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    data = image.convert("RGB").tobytes()
    r, g, b = colour
    count = 0
    for i in range(0, len(data), 3):
        if (
            abs(data[i] - r) <= tolerance
            and abs(data[i + 1] - g) <= tolerance
            and abs(data[i + 2] - b) <= tolerance
        ):
            count += 1
    return count


def embeds_the_cjk_font(content: bytes) -> bool:
    """The font travels with the document (a subset of Noto Sans CJK)."""
    return b"/FontFile" in content and b"NotoSansCJK" in content.replace(b"-", b"")


def pdf_flat_text(content: bytes) -> str:
    """The text with the lines a paragraph wraps into joined again."""
    return pdf_text(content).replace("\r", "").replace("\n", "")
