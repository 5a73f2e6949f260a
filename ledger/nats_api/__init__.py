"""The ledger on NATS: command and read APIs over request/reply (faststream), subjects and schemas."""
