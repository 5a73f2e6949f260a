"""An invoice as a PDF (seed 002: "Select the PDF icon to view the complete invoice details"): who it is addressed
to, its dates, status and amounts, and the lines of the order it bills, drawn with fpdf2.

The PDF shows every value as the portal's pages do: amounts, dates and statuses go through the same template
filters (:class:`Formats`, taken from the app's Jinja environment), so there is one way to write an amount.
Text is drawn in a core font (Helvetica, Windows-1252), which every PDF reader has and which needs no font file
on the server; a character it cannot draw (a name in another script) is shown as ``?`` (:func:`printable`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from litestar import Litestar
from litestar.plugins.jinja import JinjaTemplateEngine

from ledger.web.replies import HistoryRow, InvoiceRow

#: The name at the top of the document: the portal's, as the header of its pages shows it.
TITLE = "Customer portal"
#: What the core fonts can encode (fpdf2 writes their text in this code page).
ENCODING = "windows-1252"
FONT = "Helvetica"
BOLD = FontFace(emphasis="BOLD")


@dataclass(frozen=True, slots=True)
class Formats:
    """The portal's template filters the PDF writes its values with: ``money(amount, currency)``, ``day`` (an
    ISO date or instant as a day), ``when`` (an instant with its time and zone), ``label`` (a status)."""

    money: Callable[[str, str], str]
    day: Callable[[str], str]
    when: Callable[[str], str]
    label: Callable[[str], str]

    @classmethod
    def of(cls, app: Litestar) -> Formats:
        """The filters of ``app``'s Jinja environment (``ledger.web.app``), those the HTML pages use."""
        engine = app.template_engine
        if not isinstance(engine, JinjaTemplateEngine):
            raise TypeError("the portal renders its pages with Jinja")
        filters = engine.engine.filters
        return cls(money=filters["money"], day=filters["day"], when=filters["when"], label=filters["label"])


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """What one invoice's PDF shows: the invoice, the order it bills (with its lines) if any, and the customer
    (account, name and login email, as the portal shows them); ``zone`` names the business time zone."""

    invoice: InvoiceRow
    order: HistoryRow | None
    account: str
    name: str
    email: str
    zone: str


class PdfDrawer:
    """Draws invoice PDFs one at a time, off the event loop, and keeps the last ``keep`` drawn: the same invoice asked
    for again, unchanged, is the bytes already drawn. The largest order the ledger allows (500 lines of 500
    characters) takes seconds of CPU to draw, in the process that also serves the ledger's commands in ``serve``:
    one draw at a time and no second draw of the same document bound what repeated requests can cost."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._turn = asyncio.Lock()
        self._drawn: OrderedDict[bytes, bytes] = OrderedDict()

    async def draw(self, document: InvoiceDocument, formats: Formats) -> bytes:
        """The PDF of ``document`` (:func:`render_pdf`), drawn now or earlier."""
        key = hashlib.sha256(msgspec.json.encode((document.invoice, document.order, document.account,
                                                  document.name, document.email, document.zone))).digest()
        async with self._turn:
            if (body := self._drawn.get(key)) is None:
                body = self._drawn[key] = await asyncio.to_thread(render_pdf, document, formats)
                while len(self._drawn) > self.keep:
                    self._drawn.popitem(last=False)
            self._drawn.move_to_end(key)
            return body


def filename(invoice: str) -> str:
    """The PDF's file name for a ``Content-Disposition`` header: ``invoice-<id>.pdf``, each character of the id
    other than a letter, digit, ``.``, ``_`` or ``-`` replaced by ``_`` (no quote, slash or line break)."""
    return f"invoice-{re.sub(r'[^A-Za-z0-9._-]', '_', invoice[:100])}.pdf"


def printable(text: str) -> str:
    """``text`` as the core font can draw it: each character outside Windows-1252 becomes ``?``, so a name in
    another script shows that something is there instead of failing the page or vanishing."""
    return text.encode(ENCODING, "replace").decode(ENCODING)


def render_pdf(document: InvoiceDocument, formats: Formats) -> bytes:
    """The PDF of ``document``: Letter, one page for a usual order (a long order runs on, its headings repeated);
    ~7 ms without an order, ~1.3 ms more per order line (pure Python: call it from a worker thread)."""
    pdf = FPDF(format="letter")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_title(printable(f"Invoice {document.invoice.id}"))
    pdf.set_author(TITLE)
    pdf.set_margins(18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    _heading(pdf, document)
    _facts(pdf, document, formats)
    if document.order is not None:
        _order(pdf, document.order, formats)
    _amounts(pdf, document.invoice, formats)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(0, 4, printable(f"Dates and times are the business time zone's ({document.zone})."))
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, size: float = 10, style: str = "", height: float = 5.5) -> None:
    """A paragraph of ``text`` across the page, wrapped."""
    pdf.set_font(FONT, style, size)
    pdf.multi_cell(0, height, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, document: InvoiceDocument) -> None:
    """The portal's name, the invoice's id, and who it is addressed to."""
    _line(pdf, TITLE, 11, "B")
    _line(pdf, f"Invoice {document.invoice.id}", 18, "B", 10)
    pdf.ln(2)
    _line(pdf, "Bill to", 9, "B")
    if document.name:
        _line(pdf, document.name)
    _line(pdf, f"Account {document.account}")
    if document.email:
        _line(pdf, document.email)
    pdf.ln(4)


def _facts(pdf: FPDF, document: InvoiceDocument, formats: Formats) -> None:
    """Invoice id, invoice date, due date, status, and the order it bills."""
    invoice, order = document.invoice, document.order
    rows = [("Invoice", invoice.id), ("Invoice date", formats.day(invoice.date)),
            ("Due date", formats.day(invoice.due)), ("Status", formats.label(invoice.status))]
    if order is not None:
        channel = order.channel.upper() if order.channel == "pos" else formats.label(order.channel)
        rows.append(("Order", f"{order.id} ({channel}), placed {formats.when(order.date)}"))
    _table(pdf, None, rows, (30, 70))


def _order(pdf: FPDF, order: HistoryRow, formats: Formats) -> None:
    """The order's lines, as the order page lists them."""
    _line(pdf, f"Order {order.id}", 12, "B", 8)
    if not order.items:
        _line(pdf, "No items were recorded with this order.")
        pdf.ln(3)
        return
    rows = [(item.sku, item.description, str(item.quantity), formats.money(item.unit_price, order.currency))
            for item in order.items]
    _table(pdf, ("Item", "Description", "Quantity", "Unit price"), rows, (20, 45, 13, 22), right_from=2)


def _amounts(pdf: FPDF, invoice: InvoiceRow, formats: Formats) -> None:
    """Total, paid and open, each with its currency."""
    rows = [(name, formats.money(value, invoice.currency))
            for name, value in (("Total", invoice.total), ("Paid", invoice.paid), ("Open", invoice.open))]
    _table(pdf, None, rows, (30, 70), right_from=1, width=90, place="RIGHT")


def _table(pdf: FPDF, headings: tuple[str, ...] | None, rows: Sequence[tuple[str, ...]], widths: tuple[int, ...], *,
           right_from: int | None = None, width: float | None = None, place: str = "LEFT") -> None:
    """``rows`` as a table under ``headings`` (or none), its first column bold when it has no headings; columns
    from ``right_from`` on are aligned right (amounts, quantities); ``place``: the table's side of the page."""
    pdf.set_font(FONT, size=10)
    align = tuple("RIGHT" if right_from is not None and n >= right_from else "LEFT" for n in range(len(widths)))
    with pdf.table(col_widths=widths, text_align=align, width=width, align=place, line_height=6,
                   borders_layout="HORIZONTAL_LINES" if headings else "NONE",
                   first_row_as_headings=headings is not None) as table:
        for row in [headings, *rows] if headings else rows:
            cells = table.row()
            for column, text in enumerate(row):
                cells.cell(printable(text), style=BOLD if headings is None and column == 0 else None)
    pdf.ln(4)
