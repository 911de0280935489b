"""The HTTP service (FastAPI): screening, lists, API keys and the audit trail."""
