"""Who may reach the ledger over NATS, and as whom it may act.

``roles``: each role's NATS permissions (least privilege, enforced by the nats-server itself); ``credentials``:
the users issued under ``$LEDGER_HOME/nats/`` and the server configuration made from them; ``sessions``: the
signed header a portal or staff tool vouches for its person with; ``binding``: the actor a request may act as,
taken from the credential its subject proves.
"""
