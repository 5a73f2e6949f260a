"""The ``ledger`` command line: the root command and entry point in ``main``, one module per group of
sub-commands, each registering itself on the root command from ``main`` when imported here (the package is
imported before any of its modules, so ``ledger.cli.main.cli`` always has every command, and ``main`` imports
none of them: no import cycle)."""

from ledger.cli import (  # noqa: F401  (registers the sub-commands)
    access,
    audit,
    authorizations,
    credits,
    gateway,
    invoices,
    methods,
    nats,
    ops,
    orders,
    payments,
    read,
    replay,
    research,
    scale,
)
