"""OrMa's PostgreSQL database backend: Django's, with the health check skipped for a connection that answered
a moment ago (``base.DatabaseWrapper``). Settings name it as ``ENGINE`` when ``DATABASE_URL`` is PostgreSQL."""
