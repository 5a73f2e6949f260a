"""The ``ledger`` command line: the root group and its options in :mod:`ledger.cli.main`; one module of commands
per business area (access, orders, invoices, payments, credits, authorizations, methods, research) and the read,
replay, audit, operations and scale commands, each adding its commands to the root group when imported here.
Wiring them here, not at the end of ``main``, keeps the import graph free of cycles."""

from ledger.cli import (  # noqa: F401
    access,
    audit,
    authorizations,
    credits,
    invoices,
    main,
    methods,
    ops,
    orders,
    payments,
    read,
    replay,
    research,
    scale,
)
