"""Workers that react to ledger events: relay to NATS, emails, orders, autopay, expiry."""
