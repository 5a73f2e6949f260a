"""Personal data at rest: emails and names sealed with per-account keys, erased by destroying the key.

``keys``: where the per-account data keys are kept, wrapped by the key-encryption key (a table beside the event
store, deletable); ``vault``: sealing and revealing values, forgetting an account; ``erasure``: ``account forget``;
``maildir``: erasing a forgotten person's emails from the ledger's own Maildir.
"""
