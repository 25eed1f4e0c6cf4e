"""Storage: sqlmodel tables, stores implementing the ports, Alembic migrations."""
