"""Ports: the small interfaces through which time, ids, tokens and the payment gateway reach the domain."""
