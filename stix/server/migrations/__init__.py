"""Alembic migrations of the server database (run by `stix.server.db.migrate`)."""
