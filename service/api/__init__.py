"""The HTTP API (FastAPI): app factory, dependencies, routes, errors, SSE and metrics."""
