"""What customers and guests may ask for themselves (seeds 000-004), the one list the ledger's actor check
(:func:`ledger.commands.dispatch.check_actor`) and the portal's NATS permissions
(:func:`ledger.identity.roles.permissions`) are both made from."""

from __future__ import annotations

from ledger.commands import messages as m

#: Who acts for themselves: a customer in the portal, a guest paying an order.
SELF_SERVICE_ACTORS = frozenset({"customer", "guest"})
#: What they may ask for (seeds 000-004): pay (an account, a guest order), accept their invitation, keep their
#: saved methods and autopay, place an order and authorize its card at checkout, approve a reauthorization's
#: cart. Everything else (invoices, credits, refunds, settlements, research, ...) is staff's (CSR, finance) or
#: the system's and its workers'. Who the actor is, the edge says: the CLI's operator, the NATS caller's service,
#: which must authenticate its users and be the only one with publish rights on ``ledger.cmd.>``.
SELF_SERVICE = frozenset({m.SubmitPayment, m.ReceiveUnidentifiedPayment, m.AcceptInvitation, m.AddPaymentMethod,
                          m.RemovePaymentMethod, m.SetDefaultPaymentMethod, m.EnableAutopay, m.DisableAutopay,
                          m.PlaceOrder, m.AuthorizeCard, m.Reauthorize, m.RenewInvitation,
                          m.RecordPasswordChange, m.RecordPasswordResetRequest})


#: What a guest may ask for: a guest is nobody the ledger knows (a portal request without a customer session), so
#: only what proves itself: pay with a token it brings (never a ``saved`` method), a payment matching nothing,
#: accept an invitation whose token it holds, check out a cart link whose token it holds (see :func:`guest_may`).
#: An account's saved methods, autopay and orders are its customer's only.
GUEST = frozenset({m.SubmitPayment, m.ReceiveUnidentifiedPayment, m.AcceptInvitation})


def guest_may(command: m.Command) -> bool:
    """Whether a guest may give ``command``: one of :data:`GUEST`, paying with no saved method; or a cart link's
    checkout (``AuthorizeCard``, ``Reauthorize``: seed 004's "Approve Order Payment" email) naming its cart and
    bringing the link's token, the proof, as an invitation's token is. The ledger checks that token before anything
    else (before the gateway is asked, before a repeat is answered) and holds the cart's amount only."""
    if isinstance(command, m.CartCheckout):
        return command.cart is not None and command.cart_token is not None
    return type(command) in GUEST and getattr(command, "saved", None) is None
