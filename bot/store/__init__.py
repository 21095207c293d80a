"""The database: SQLAlchemy Core over SQLite or PostgreSQL, its schema and migrations."""
