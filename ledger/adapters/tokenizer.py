"""The gateway simulator's hosted tokenizer: the small page a real gateway serves (an iframe or hosted fields)
that turns a card or bank account typed in the browser into a token, so the card never reaches the portal.

``ledger serve`` runs it on its own port (LEDGER_TOKENIZER_PORT, a free one by default). The browser posts the
card here; this page answers with a redirect back to the portal carrying only the token, the brand, the last
four digits and the expiry. Only the simulator's test cards and accounts exist:

| card / account | token | gateway answer |
| --- | --- | --- |
| 4242 4242 4242 4242 | tok_visa | approved |
| 5555 5555 5555 4444 | tok_mastercard | approved |
| 4000 0000 0000 0002 | tok_decline | declined |
| 4000 0000 0000 9995 | tok_insufficient_funds | declined (insufficient funds) |
| bank 110000000 / 000123456789 | tok_ach | pending, settles |
| bank 110000000 / 000111111116 | tok_ach_return | pending, returned R01 |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Litestar, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from ledger.cards import ascii_digits

TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("tok_visa", "visa"),
    "5555555555554444": ("tok_mastercard", "mastercard"),
    "4000000000000002": ("tok_decline", "visa"),
    "4000000000009995": ("tok_insufficient_funds", "visa"),
}
TEST_ACCOUNTS: dict[str, str] = {"000123456789": "tok_ach", "000111111116": "tok_ach_return"}
TEST_ROUTING = "110000000"
TEMPLATES = Path(__file__).parent.parent / "web" / "templates"


def card_token(number: str, exp: str) -> tuple[str, str, str] | str:
    """(token, brand, last four) of a test card, or why it is refused."""
    digits = ascii_digits(number).replace(" ", "")
    digits = "".join(ch for ch in digits if ch.isdigit())
    month, _, year = exp.partition("/")
    if not (month.strip().isdigit() and year.strip().isdigit() and 1 <= int(month) <= 12):
        return "Enter the expiry as MM/YYYY."
    found = TEST_CARDS.get(digits)
    if found is None:
        return "This test gateway knows only its test cards (listed below)."
    return found[0], found[1], digits[-4:]


def bank_token(routing: str, account: str) -> tuple[str, str, str] | str:
    """(token, "bank", last four) of a test bank account, or why it is refused."""
    token = TEST_ACCOUNTS.get(account.strip())
    if routing.strip() != TEST_ROUTING or token is None:
        return "This test gateway knows only its test bank accounts (listed below)."
    return token, "bank", account.strip()[-4:]


def build_tokenizer(allowed_return: str) -> Litestar:
    """The tokenizer app; it sends the browser back only to addresses under ``allowed_return`` (the portal)."""
    allowed = urlsplit(allowed_return)

    def returnable(target: str) -> bool:
        parts = urlsplit(target)
        return (parts.scheme, parts.netloc) == (allowed.scheme, allowed.netloc) and parts.path.startswith("/portal/")

    @get("/tokenize")
    async def form(kind: FromQuery[str] = "card", return_to: FromQuery[str] = "") -> Template:
        if not returnable(return_to) or kind not in ("card", "ach"):
            raise NotFoundException("unknown return address")
        return Template("tokenizer.html", context={"kind": kind, "return_to": return_to, "cards": TEST_CARDS,
                                                    "accounts": TEST_ACCOUNTS, "routing": TEST_ROUTING})

    @post("/tokenize")
    async def tokenize(request: Request[Any, Any, Any]) -> Redirect | Template:
        values = await request.form()
        kind, return_to = str(values.get("kind", "card")), str(values.get("return_to", ""))
        if not returnable(return_to):
            raise NotFoundException("unknown return address")
        exp = str(values.get("exp", ""))
        made = (card_token(str(values.get("number", "")), exp) if kind == "card"
                else bank_token(str(values.get("routing", "")), str(values.get("account", ""))))
        if isinstance(made, str):
            return Template("tokenizer.html", status_code=400,
                            context={"kind": kind, "return_to": return_to, "error": made, "cards": TEST_CARDS,
                                     "accounts": TEST_ACCOUNTS, "routing": TEST_ROUTING})
        token, brand, last4 = made
        answer = {"token": token, "brand": brand, "last4": last4, "kind": kind,
                  "exp": exp.replace(" ", "") if kind == "card" else ""}
        glue = "&" if "?" in return_to else "?"
        return Redirect(f"{return_to}{glue}{urlencode(answer)}", status_code=303)

    return Litestar(route_handlers=[form, tokenize], logging_config=None,  # the ledger's JSON lines (ledger.logs)
                    template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine))
