"""Portal access over HTTP (seeds 002, 003): invitation -> set password -> Confirm email -> login; wrong and
unknown logins answer alike; growing delays; logout; forgot / reset; change password; CSRF; session expiry."""

from __future__ import annotations

import re

import pytest

from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from ledger.web.auth import FREE_ATTEMPTS
from ledger.web.credentials import SESSION_IDLE
from tests.web.conftest import PASSWORD, Site, event_names, register

pytestmark = pytest.mark.nats
NEW = "a brand new passphrase"


def link_in(text: str) -> str:
    found = re.search(r"http://testserver\.local(/portal/\S+)", text)
    assert found is not None, text
    return found.group(1)


async def test_invitation_set_password_confirm_then_login(site: Site) -> None:
    site.staff(m.OpenAccount(account="ACC1", email="ada@example.com", name="Ada"))
    sent = site.staff(m.SendInvitation(account="ACC1"))
    raw = site.ledger.ports.tokens.issue("invitation", "ACC1", sent.reference, "0")
    page = f"/portal/invitation/{raw}?account=ACC1"
    shown = await site.client.get(page)
    assert shown.status_code == 200 and "ada@example.com" in shown.text
    short = await site.submit(page, password="short", confirm="short")
    assert short.status_code == 400 and "at least 10" in short.text
    done = await site.submit(page, password=PASSWORD, confirm=PASSWORD)
    assert done.status_code == 200 and "Click Confirm" in done.text
    assert (await site.log_in()).status_code == 400  # not confirmed yet
    confirm = link_in(site.mailer.sent[-1].text)
    confirmed = await site.submit(confirm)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    home = await site.log_in()
    assert home.status_code == 200 and "Account balance" in home.text
    again = await site.client.get(page)  # the link is single use
    assert "Already registered" in again.text and "password" not in again.text.split("<main", 1)[1].lower()
    assert "InvitationAccepted" in event_names(site)


async def test_an_expired_invitation_says_so_and_sends_a_new_one(site: Site) -> None:
    site.staff(m.OpenAccount(account="ACC1", email="ada@example.com"))
    sent = site.staff(m.SendInvitation(account="ACC1"))
    raw = site.ledger.ports.tokens.issue("invitation", "ACC1", sent.reference, "0")
    site.ledger.ports.clock.advance(hours=73)  # type: ignore[attr-defined]
    page = f"/portal/invitation/{raw}?account=ACC1"
    refused = await site.submit(page, password=PASSWORD, confirm=PASSWORD)
    assert refused.status_code == 410 and "Send me a new invitation" in refused.text
    assert site.portal.store.login_of("ACC1") is None  # nothing kept
    renewed = await site.submit(page, f"/portal/invitation/{raw}/renew?account=ACC1")
    assert renewed.status_code == 200 and "new invitation" in renewed.text.lower()
    assert event_names(site)[-1] == "InvitationResent"


async def test_wrong_password_and_unknown_email_get_the_same_answer_then_delays(site: Site) -> None:
    register(site)
    wrong = await site.log_in(password="not the password")
    unknown = await site.log_in(email="nobody@example.com", password="not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "The email or password is not right." in wrong.text and "The email or password is not right." in unknown.text
    for _ in range(FREE_ATTEMPTS):
        await site.log_in(password="still wrong")
    limited = await site.log_in()  # even the right password waits
    assert limited.status_code == 429 and "Too many failed attempts" in limited.text
    site.clock.now += 3600
    assert (await site.log_in()).status_code == 200


async def test_login_rotates_the_session_and_logout_ends_it(site: Site) -> None:
    register(site)
    await site.log_in()
    first = site.client.cookies.get("portal_session")
    await site.log_in()
    second = site.client.cookies.get("portal_session")
    assert first and second and first != second
    assert site.portal.store.session(first) is None  # the old id is dead
    out = await site.submit("/portal/", "/portal/logout")
    assert out.status_code == 200 and "logged out" in out.text
    assert (await site.client.get("/portal/", follow_redirects=False)).status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_lax(site: Site) -> None:
    register(site)
    shown = await site.client.get("/portal/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', shown.text)
    assert token is not None
    answer = await site.client.post("/portal/login", data={"_csrf_token": token.group(1), "email": "ada@example.com",
                                                           "password": PASSWORD}, follow_redirects=False)
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "portal_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


async def test_a_session_idle_for_30_minutes_ends(site: Site) -> None:
    register(site)
    await site.log_in()
    site.clock.now += SESSION_IDLE - 5
    assert (await site.client.get("/portal/invoices")).status_code == 200
    site.clock.now += SESSION_IDLE + 1
    expired = await site.client.get("/portal/invoices", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/portal/login")


async def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    register(site)
    refused = await site.client.post("/portal/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 403
    assert site.client.cookies.get("portal_session") is None


async def test_forgot_password_sends_a_single_use_link(site: Site) -> None:
    register(site)
    unknown = await site.submit("/portal/forgot", email="nobody@example.com")
    known = await site.submit("/portal/forgot", email="ada@example.com")
    assert unknown.text.count("is on its way") == known.text.count("is on its way") == 1
    assert len(site.mailer.sent) == 1
    reset = link_in(site.mailer.sent[0].text)
    changed = await site.submit(reset, password=NEW, confirm=NEW)
    assert changed.status_code == 200 and "password is changed" in changed.text
    assert (await site.client.get(reset)).status_code == 410  # single use
    assert (await site.log_in(password=PASSWORD)).status_code == 400
    assert (await site.log_in(password=NEW)).status_code == 200
    assert event_names(site)[-2:] == ["PasswordResetRequested", "PasswordChanged"]


async def test_a_reset_link_lives_one_hour(site: Site) -> None:
    register(site)
    await site.submit("/portal/forgot", email="ada@example.com")
    site.clock.now += 3601
    assert (await site.client.get(link_in(site.mailer.sent[0].text))).status_code == 410


async def test_change_password_asks_for_the_current_one(site: Site) -> None:
    register(site)
    await site.log_in()
    wrong = await site.submit("/portal/password", current="not it at all", password=NEW, confirm=NEW)
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    done = await site.submit("/portal/password", current=PASSWORD, password=NEW, confirm=NEW)
    assert done.status_code == 200 and "password is changed" in done.text
    assert event_names(site)[-1] == "PasswordChanged"


async def test_a_guest_sees_only_the_login_invitation_and_reset_pages(site: Site) -> None:
    for path in ("/portal/", "/portal/invoices", "/portal/pay", "/portal/account", "/portal/password",
                 "/portal/history", "/portal/credits", "/portal/payments", "/portal/invoices/INV-1"):
        answer = await site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/login"), path
    for path in ("/portal/login", "/portal/forgot", "/healthz"):
        assert (await site.client.get(path)).status_code == 200, path


async def test_a_hash_made_with_older_parameters_is_replaced_at_login(site: Site) -> None:
    register(site)
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    older = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=4096),)).hash(PASSWORD)
    site.portal.store.set_password("ACC1", older)
    assert (await site.log_in()).status_code == 200
    login = site.portal.store.login_of("ACC1")
    assert login is not None and login.password_hash != older and "m=8192" in login.password_hash
    assert (await site.log_in()).status_code == 200  # the new hash verifies


async def test_the_portal_sends_nothing_to_a_forgotten_account(site: Site) -> None:
    """The portal's own emails (a login's Confirm email, a reset link) went to a forgotten account's address: only
    the email worker checked. Here the account's keys are destroyed but this portal's store still has its logins,
    as a ``ledger web`` with a portal.db of its own that ``account forget`` did not reach."""
    register(site)  # ACC1: a confirmed login, which asks for a reset link
    site.staff(m.OpenAccount(account="ACC2", email="bo@example.com", name="Bo"))
    site.portal.store.register("ACC2", "bo@example.com", site.portal.auth.hasher.hash(PASSWORD))  # not confirmed
    for account in ("ACC1", "ACC2"):
        site.ledger.store.personal.forget(account_uuid(account))
    reset = await site.submit("/portal/forgot", email="ada@example.com")
    unconfirmed = await site.log_in(email="bo@example.com")  # the right password of a login not confirmed yet
    assert reset.status_code == 200 and unconfirmed.status_code == 400
    assert site.mailer.sent == []
    assert site.portal.store.login_of("ACC1") is None and site.portal.store.login_of("ACC2") is None
    assert (await site.log_in(email="bo@example.com")).status_code == 400 and site.mailer.sent == []
    assert (await site.client.get("/portal/invitation/any?account=ACC2")).status_code == 404  # registers no login
