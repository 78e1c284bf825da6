"""The HTTP/WebSocket server: a thin caller of ``engine.services`` (FastAPI on uvicorn)."""
