"""SQLAlchemy (async) storage for SQLite and PostgreSQL."""
