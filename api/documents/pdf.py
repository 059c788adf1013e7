"""PDF pages in Chinese: an A4 document with a CJK font embedded (a subset: only the
characters used), so it prints and displays the same on any machine.

The font is Debian's Noto Sans CJK (package fonts-noto-cjk, installed by ./dev), the
Simplified Chinese face of its collection; LIANDONG_PDF_FONT names another. Without
one, making a PDF fails with a message saying what to install, never with empty boxes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

# Where Debian's packages put a CJK font, in order of preference; the number is the
# face within a collection (.ttc): Noto Sans CJK's Simplified Chinese face is its third.
DEBIAN_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
FACE = "cjk"


class NoChineseFont(RuntimeError):
    pass


def chinese_font(configured: Path | None = None) -> tuple[Path, int]:
    if configured is not None:
        if not configured.is_file():
            raise NoChineseFont(f"LIANDONG_PDF_FONT {configured} is not a file")
        return configured, 2 if configured.name.startswith("NotoSansCJK") else 0
    for path, face in DEBIAN_FONTS:
        if Path(path).is_file():
            return Path(path), face
    raise NoChineseFont(
        "no Chinese font for PDFs: install Debian's fonts-noto-cjk (./dev does), or set "
        "LIANDONG_PDF_FONT to a CJK TrueType or OpenType font"
    )


class ChinesePdf(FPDF):
    """An A4 page with the CJK font set, and a footer that says what made it."""

    def __init__(
        self,
        footer: str,
        font: tuple[Path, int],
        made_at: datetime,
        orientation: str = "portrait",
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        # Dated by what it shows (the event, the report's moment), not by when it was
        # rendered: the same notice prints to the same bytes every time.
        self.set_creation_date(made_at)
        self.footer_text = footer
        path, face = font
        bold = path.with_name(path.name.replace("Regular", "Bold"))
        self.add_font(FACE, "", str(path), collection_font_number=face)
        self.add_font(FACE, "B", str(bold if bold.is_file() else path), collection_font_number=face)
        self.set_font(FACE, size=11)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)
        self.set_creator("Liandong 联动")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FACE, size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text}    第 {self.page_no()} 页", align="C")
        self.set_text_color(0)

    def bytes(self) -> bytes:
        return bytes(self.output())
