"""The invoice PDF over HTTP (seed 002: "Select the PDF icon to view the complete invoice details"): its details
and order lines, the links to it, 404 for another account's invoice, the login page for a guest, and a customer
name the PDF's font cannot draw."""

from __future__ import annotations

import contextlib
import re
import zlib

import pytest

from ledger.commands import messages as m
from ledger.web.invoice_pdf import filename, printable
from tests.web.conftest import Site
from tests.web.test_portal_pages import billed

pytestmark = pytest.mark.nats

SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def text_of(pdf: bytes) -> str:
    """The strings a PDF's content streams draw (deflated or not), in order, as fpdf2 writes a core font's text."""
    shown: list[bytes] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):  # the page's content is deflated, as served
            stream = zlib.decompress(stream)
        shown += SHOWN.findall(stream)
    return " | ".join(re.sub(rb"\\(.)", rb"\1", text).decode("cp1252") for text in shown)


async def test_the_pdf_shows_the_invoice_its_order_and_its_amounts(site: Site) -> None:
    billed(site)
    site.staff(m.SubmitPayment(account="ACC1", payment="P0", amount="10.00", method="card", token="tok_visa",
                               invoices={"INV-3": "10.00"}))
    await site.log_in()
    tab = await site.client.get("/portal/invoices")
    assert all(f'href="/portal/invoices/INV-{n}/pdf"' in tab.text for n in (1, 2, 3)) and "of invoice INV-1" in tab.text
    assert "Download PDF" in (await site.client.get("/portal/invoices/INV-3")).text
    answer = await site.client.get("/portal/invoices/INV-3/pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'inline; filename="invoice-INV-3.pdf"'
    assert answer.content.startswith(b"%PDF-") and b"tok_visa" not in answer.content
    text = text_of(answer.content)
    for shown in ("Customer portal", "Invoice INV-3", "Ada", "Account ACC1", "ada@example.com", "Aug 20, 2026",
                  "Due date | Sep 20, 2026", "Status | Partially paid", "SO-1 (POS), placed", "SKU-4 | Widget 4 | 4",
                  "1.00 USD", "Total | 30.00 USD | Paid | 10.00 USD | Open | 20.00 USD", "America/New_York"):
        assert shown in text, (shown, text)


async def test_an_invoice_without_an_order(site: Site) -> None:
    billed(site)
    await site.log_in()
    text = text_of((await site.client.get("/portal/invoices/INV-1/pdf")).content)
    assert "Invoice INV-1" in text and "Total | 100.00 USD" in text and "Status | Open" in text
    assert "SO-1" not in text and "SKU-1" not in text


async def test_another_accounts_invoice_answers_404_as_its_page_does(site: Site) -> None:
    billed(site)
    billed(site, "ACC2", "bob@example.com")
    site.staff(m.IssueInvoice(account="ACC2", invoice="INV-BOB", amount="5.00", date="2026-08-01", due="2026-09-01"))
    await site.log_in()
    for invoice in ("INV-BOB", "INV-404"):
        page = await site.client.get(f"/portal/invoices/{invoice}")
        pdf = await site.client.get(f"/portal/invoices/{invoice}/pdf")
        assert page.status_code == pdf.status_code == 404 and pdf.text == page.text


async def test_a_guest_is_sent_to_the_login_page(site: Site) -> None:
    billed(site)
    answer = await site.client.get("/portal/invoices/INV-1/pdf", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/login?next=%2Fportal%2Finvoices%2FINV-1%2Fpdf"


async def test_a_name_the_font_cannot_draw_shows_as_question_marks(site: Site,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    opened = m.OpenAccount  # billed() opens its account as "Ada": this one is "Łukasz 李 Müller"
    monkeypatch.setattr(m, "OpenAccount", lambda **fields: opened(**{**fields, "name": "Łukasz 李 Müller"}))
    billed(site)
    await site.log_in()
    answer = await site.client.get("/portal/invoices/INV-3/pdf")
    assert answer.status_code == 200 and "?ukasz ? Müller" in text_of(answer.content)


def test_the_file_name_is_safe_in_a_header_and_text_is_what_helvetica_draws() -> None:
    assert filename('INV "1"\r\n/../x;y') == "invoice-INV__1____.._x_y.pdf"
    assert printable("Ada Łukasiewicz – 20 € – 李") == "Ada ?ukasiewicz – 20 € – ?"


async def test_the_same_invoice_is_drawn_once_and_one_pdf_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A customer asking for the PDF of a 500-line order again and again costs one draw: the drawer keeps what it
    drew; two different documents are drawn one after the other, never at once."""
    import asyncio
    import threading

    from ledger.web import invoice_pdf
    from ledger.web.replies import InvoiceRow

    drawing, most, drawn = [0], [0], []
    lock = threading.Lock()

    def render(document: invoice_pdf.InvoiceDocument, formats: object) -> bytes:
        with lock:
            drawing[0] += 1
            most[0] = max(most[0], drawing[0])
        threading.Event().wait(0.05)  # long enough for a second draw to start, were it allowed to
        with lock:
            drawing[0] -= 1
        drawn.append(document.invoice.id)
        return f"%PDF-{document.invoice.id}".encode()

    monkeypatch.setattr(invoice_pdf, "render_pdf", render)
    drawer = invoice_pdf.PdfDrawer(keep=2)

    def document(invoice: str) -> invoice_pdf.InvoiceDocument:
        row = InvoiceRow(id=invoice, date="2026-11-01", due="2026-12-01", total="10.00", paid="0.00",
                         open="10.00", status="open", currency="USD")
        return invoice_pdf.InvoiceDocument(invoice=row, order=None, account="ACC1", name="Ada", email="a@example.com",
                                           zone="America/New_York")

    formats = invoice_pdf.Formats(money=str, day=str, when=str, label=str)  # type: ignore[arg-type]
    bodies = await asyncio.gather(*(drawer.draw(document(i), formats) for i in ("I1", "I1", "I2", "I1", "I2")))
    assert bodies == [b"%PDF-I1", b"%PDF-I1", b"%PDF-I2", b"%PDF-I1", b"%PDF-I2"]
    assert sorted(drawn) == ["I1", "I2"] and most[0] == 1
    await drawer.draw(document("I3"), formats)  # keeps two: I1, the least recently asked for, goes
    await drawer.draw(document("I1"), formats)
    assert drawn[-2:] == ["I3", "I1"]
