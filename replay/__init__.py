"""Finance replays: as-of balances, statements, audit verification and exports."""
