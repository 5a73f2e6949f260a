"""Adapters: real and test implementations of the ports."""
