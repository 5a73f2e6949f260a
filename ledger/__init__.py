"""An event-sourced payment ledger: the system of record behind payment portals, CSR dashboards and audits."""

__version__ = "0.1.0"
