"""The one module that imports the HTTP library; every other module takes `httpx` from here.

httpx2, pydantic's maintained fork of httpx, has the same API under another name and costs less
CPU per request under concurrency (see docs/performance.md). Keeping the import in one place is
what lets the SDK offer it as an option later without touching the request path.
"""

import httpx

__all__ = ["httpx"]
