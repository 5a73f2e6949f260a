"""The durable event store: eventsourcing's SQLite (default) or PostgreSQL module with a msgspec mapper."""
