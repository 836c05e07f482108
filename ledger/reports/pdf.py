"""Reports as PDF (reportlab), Chinese set in a TrueType CJK font from the system.

reportlab embeds TrueType outlines only; Debian's fonts-noto-cjk ships CFF (PostScript)
outlines, which it refuses, so the default is fonts-wqy-zenhei (``wqy-zenhei.ttc``, installed
by ``scripts/setup-test-env.sh``). ``reports.pdf_font`` in the configuration names another
file (``PATH`` or ``PATH#INDEX`` for a font collection). Without a usable font the report
fails with a :class:`~ledger.reports.ReportError` that says which files were tried and what
to install, never with a PDF of empty boxes.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from ledger.reports import ReportError
from ledger.reports.export import totals_row
from ledger.const import label
from ledger.reports.model import HEADER, Report, Section, cell_text, display_width

#: Tried in this order when no font is configured (TrueType outlines, with CJK).
CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/arphic/uming.ttc",
              "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
FONT_NAME = "ReportCJK"
NUMERIC = ("int", "number", "percent", "money")
MIN_COLUMN = 26.0      # points: three Chinese characters at the table's size
_lock = threading.Lock()
_registered: dict[str, str] = {}


def find_font(configured: str | None = None) -> str:
    """The reportlab name of a registered CJK font; raises ReportError when none works."""
    candidates = (configured,) if configured else CANDIDATES
    with _lock:
        tried = []
        for spec in candidates:
            if spec in _registered:
                return _registered[spec]
            reason = _register(spec, f"{FONT_NAME}{len(_registered)}")
            if reason is None:
                return _registered[spec]
            tried.append(f"{spec}: {reason}")
    raise ReportError(
        "PDF 报表需要 TrueType 中文字体（如 Debian 的 fonts-wqy-zenhei：apt-get install "
        "fonts-wqy-zenhei），或在配置 reports.pdf_font 中指定字体文件；已尝试: " + "; ".join(tried),
        "PDF reports need a TrueType CJK font (such as Debian's fonts-wqy-zenhei: apt-get "
        "install fonts-wqy-zenhei), or a font file named by reports.pdf_font in the "
        "configuration; tried: " + "; ".join(tried))


def _register(spec: str, name: str) -> str | None:
    """Register ``spec`` (PATH or PATH#INDEX) as ``name``; the reason it failed, or None."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont
    path, _, index = spec.partition("#")
    if not Path(path).is_file():
        return "not found"
    try:
        font = TTFont(name, path, subfontIndex=int(index or 0))
    except (TTFError, ValueError, OSError) as exc:
        return str(exc).splitlines()[0][:120]
    if font.face.charToGlyph.get(ord("中")) is None:
        return "has no Chinese characters"
    pdfmetrics.registerFont(font)
    _registered[spec] = name
    return None


def pdf(report: Report, language: str = "zh", *, font: str | None = None) -> bytes:
    """The report as an A4 landscape PDF: title, scope lines, one table per section."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    name = find_font(font)
    styles = {"title": ParagraphStyle("t", fontName=name, fontSize=15, leading=20),
              "section": ParagraphStyle("s", fontName=name, fontSize=11, leading=15,
                                        spaceBefore=8, spaceAfter=4),
              "text": ParagraphStyle("p", fontName=name, fontSize=8, leading=11),
              "cell": ParagraphStyle("c", fontName=name, fontSize=6.5, leading=8,
                                     wordWrap="CJK")}
    styles["number"] = ParagraphStyle("n", parent=styles["cell"], alignment=2)   # right
    out = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(out, pagesize=page, leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm,
                            title=report.title(language), author="Infra Ledger")
    story = [Paragraph(_escape(report.title(language)), styles["title"])]
    for key, value in report.header(language):
        story.append(Paragraph(_escape(f"{key}: {value}"), styles["text"]))
    for zh, en in report.notes:
        story.append(Paragraph(_escape(zh if language == "zh" else en), styles["text"]))
    width = page[0] - 20 * mm
    for section in report.sections:
        story.append(Paragraph(_escape(section.title(language)), styles["section"]))
        story.append(_table(section, language, report.timezone, styles, width, colors))
        story.append(Spacer(1, 4 * mm))
    doc.build(story)
    return out.getvalue()


def _table(section: Section, language: str, timezone: str, styles: dict, width: float,
           colors):
    from reportlab.platypus import Paragraph, Table, TableStyle
    rows = section.rows + ([totals_row(section, language)] if section.totals else [])
    if not rows:
        return Paragraph(_escape(label(HEADER, "empty", language)), styles["text"])
    widths = _widths(section, language, width)
    head = [Paragraph(_escape(c.title(language)), styles["cell"]) for c in section.columns]
    body = [[_cell(cell_text(c, row.get(c.key), language, timezone), c.kind in NUMERIC, w,
                   styles) for c, w in zip(section.columns, widths)] for row in rows]
    table = Table([head] + body, colWidths=widths, repeatRows=1)
    size = styles["cell"].fontSize
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE6F0")),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("FONT", (0, 0), (-1, -1), styles["cell"].fontName, size, size + 1.5),
             ("TOPPADDING", (0, 1), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 1), (-1, -1), 1.5),
             ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(section.columns)
              if c.kind in NUMERIC]
    if section.totals:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
    table.setStyle(TableStyle(style))
    return table


def _cell(text: str, numeric: bool, width: float, styles: dict):
    """A plain string when it fits its column (fast to lay out), else a wrapping paragraph.

    A paragraph per cell costs about a hundred times a string: a list of ten thousand rows
    would take minutes."""
    from reportlab.platypus import Paragraph
    size = styles["cell"].fontSize
    if display_width(text) * size * 0.55 <= width - 4:
        return text.replace("\0", "")
    return Paragraph(_escape(text), styles["number" if numeric else "cell"])


def _widths(section: Section, language: str, width: float) -> list[float]:
    """Column widths in proportion to their longest text, so every table fits the page."""
    weights = []
    for column in section.columns:
        texts = [column.title(language)] + [cell_text(column, r.get(column.key), language)
                                            for r in section.rows[:200]]
        longest = max(display_width(t) for t in texts)
        weights.append(min(longest, 40))
    floor = min(MIN_COLUMN, width / len(weights))
    spare, total = width - floor * len(weights), sum(weights) or 1
    return [floor + spare * w / total for w in weights]


def _escape(text: str) -> str:
    return (text.replace("\0", "").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))
