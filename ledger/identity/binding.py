"""The actor a request may act as, from the credential its subject proves, not from what its body claims.

* ``ledger.cmd.<command>`` / ``ledger.read.<view>``: the admin's subjects (operators' tools); the body's actor
  is taken as given.
* ``ledger.portal.<name>.cmd.<command>`` / ``.read.<view>``: only portal ``name`` may publish there. Without a
  ``Ledger-Session`` header it acts as a ``guest``; with one signed by its key (:mod:`ledger.identity.sessions`)
  as the ``customer`` or ``guest`` it names, a customer on its session's account only. Only what a customer or
  guest may ask for, reads of their own account only.
* ``ledger.staff.<name>.cmd.<command>`` / ``.read.<view>``: staff member ``name`` (the credential's kind, csr
  or finance); a staff tool serving several people says which with a signed header (a ``csr`` credential vouches
  for CSRs only).

The bound actor names the credential's user in ``via`` when someone else acts through it (a portal's customer or
guest, a staff tool's signed-in member), recorded on every event. A request that exceeds this is refused
``actor_not_allowed`` and logged to the security log only (a line with ``"logger": "security"``, under ``serve``
in ``$LEDGER_HOME/security.log``: :mod:`ledger.logs`), naming the subject, the credential, the reason and the
account, never the request's body; nothing is written to the store. What a line shows of a request's own text
is bounded: the account only when it passes the id rule (:func:`ledger.commands.validation.check_reference`, at
most 64 characters), a claimed actor kind only when it is a known one, anything else as ``<invalid, N chars>``,
and every text field cut at ``FIELD_LIMIT`` characters, so a hostile body (a password, kilobytes of text) is
never echoed into the file an operator ships.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec
import structlog

from ledger.aggregates.events.base import ACTOR_KINDS
from ledger.commands.messages import ActorIn, Command
from ledger.commands.validation import check_reference
from ledger.errors import Forbidden, ValidationError
from ledger.identity.credentials import Credentials
from ledger.identity.roles import PORTAL_PREFIX, STAFF_PREFIX, user_name
from ledger.identity.sessions import HEADER, SessionInvalid, session_key, verify
from ledger.logs import SECURITY
from ledger.nats_api.subjects import PORTAL_READS

security = structlog.get_logger(SECURITY)
SELF_SERVICE_KINDS = ("customer", "guest")
#: The most characters a security line keeps of any text field (a subject, a reason); the rest is cut.
FIELD_LIMIT = 200


def invalid(value: object) -> str:
    """What the security log shows instead of a request's value it may not echo: only its length."""
    return f"<invalid, {len(value)} chars>" if isinstance(value, str) else f"<invalid {type(value).__name__}>"


def shown_id(value: object) -> object:
    """A request's account as the security log may show it: as sent when it passes the id rule, else
    :func:`invalid`; None when the request named none."""
    if value is None:
        return None
    try:
        return check_reference(value, "account")  # type: ignore[arg-type]  # anything a body held
    except ValidationError:
        return invalid(value)


def shown_kind(kind: object) -> str:
    """A claimed actor kind as the security log may show it: one of the known kinds, else :func:`invalid`."""
    return kind if isinstance(kind, str) and kind in ACTOR_KINDS else invalid(kind)


def capped(value: object) -> object:
    """``value``, a text cut to ``FIELD_LIMIT`` characters."""
    return f"{value[:FIELD_LIMIT]}[cut, {len(value)} chars]" if isinstance(value, str) and len(value) > FIELD_LIMIT \
        else value


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request, as its subject proves (role ``admin``, ``portal`` or ``staff``), with its headers."""

    role: str
    name: str
    subject: str
    headers: Mapping[str, str]

    @property
    def user(self) -> str:
        """The NATS user whose permissions allow this subject."""
        return user_name(self.role, self.name) if self.name else self.role


def caller_of(subject: str, headers: Mapping[str, str] | None = None) -> tuple[Caller, str]:
    """(the caller, the rest of the subject: ``cmd.<command>`` or ``read.<view>``)."""
    for role, prefix in (("portal", PORTAL_PREFIX), ("staff", STAFF_PREFIX)):
        if subject.startswith(prefix):
            name, _, rest = subject[len(prefix):].partition(".")
            return Caller(role, name, subject, headers or {}), rest
    return Caller("admin", "", subject, headers or {}), subject[len("ledger."):]


class Binder:
    """Binds requests to the actors their credentials allow (credentials re-read when they change)."""

    def __init__(self, credentials: Credentials, now: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.now = now

    def refuse(self, caller: Caller, reason: str, **details: object) -> Forbidden:
        """Log the refusal to the security log (an ``account`` shown by :func:`shown_id`, every text capped: the
        callers pass a claimed kind through :func:`shown_kind`) and make the error to answer."""
        if "account" in details:
            details["account"] = shown_id(details["account"])
        fields = {"subject": caller.subject, "user": caller.user, "reason": reason, **details}
        security.warning("actor_not_allowed", logger=SECURITY, **{key: capped(value) for key, value in fields.items()})
        return Forbidden(f"{caller.user} may not: {capped(reason)}", field="actor")

    def actor(self, caller: Caller, claimed: ActorIn | None, account: str | None) -> ActorIn | None:
        """The actor ``caller`` acts as on ``account``; raises Forbidden when ``claimed`` exceeds it."""
        if caller.role == "admin":
            return claimed
        credential = self.credentials.users().get(caller.user)
        if credential is None:
            raise self.refuse(caller, "no such credential")
        header = caller.headers.get(HEADER)
        vouched = None
        if header is not None:
            try:
                vouched = verify(session_key(credential.password), header, self.now())
            except SessionInvalid as error:
                raise self.refuse(caller, str(error)) from None
        allowed = SELF_SERVICE_KINDS if caller.role == "portal" else (
            ("csr", "finance") if credential.kind == "finance" else ("csr",))
        channel = claimed.channel if claimed is not None else ("portal" if caller.role == "portal" else "csr")
        if vouched is None:
            bound = ActorIn(kind="guest", name=claimed.name if claimed and claimed.kind == "guest" else "guest",
                            channel=channel, via=caller.user) if caller.role == "portal" else \
                ActorIn(kind=credential.kind, name=credential.name, channel=channel)
        else:
            if vouched.kind not in allowed:
                kind = shown_kind(vouched.kind)
                raise self.refuse(caller, f"a {caller.role} credential cannot vouch for a {kind}", claimed_kind=kind)
            if vouched.kind == "customer" and vouched.account != account:
                raise self.refuse(caller, "a customer acts on their own account only", account=account)
            bound = ActorIn(kind=vouched.kind, name=vouched.name, channel=channel, via=caller.user)
        if claimed is not None and (claimed.kind, claimed.name) != (bound.kind, bound.name):
            kind = shown_kind(claimed.kind)
            raise self.refuse(caller, f"claimed {kind} beyond the credential's {bound.kind}", claimed_kind=kind,
                              account=account)
        return bound

    def command(self, caller: Caller, command: Command, self_service: frozenset[type],
                guest_may: Callable[[Command], bool]) -> Command:
        """``command`` with the actor its caller may act as (a portal: only ``self_service`` commands, and as a
        guest, with no customer session, only those ``guest_may`` give)."""
        account = getattr(command, "account", None)
        if caller.role == "portal" and type(command) not in self_service:
            raise self.refuse(caller, f"a portal may not {type(command).__name__}", account=account)
        bound = self.actor(caller, getattr(command, "actor", None), account)
        if caller.role == "portal" and bound is not None and bound.kind == "guest" and not guest_may(command):
            raise self.refuse(caller, f"a guest may not {type(command).__name__} (no customer session)",
                              account=account)
        return msgspec.structs.replace(command, actor=bound) if bound is not None else command

    def read(self, caller: Caller, view: str, account: str | None) -> None:
        """Refuse a read the caller may not make: a portal reads only its customer's own account."""
        if caller.role != "portal":
            return
        actor = self.actor(caller, None, account)
        if actor is None or actor.kind != "customer" or view not in PORTAL_READS:
            raise self.refuse(caller, f"a portal {actor.kind if actor else 'guest'} may not read {view}",
                              account=account)
