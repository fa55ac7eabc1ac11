"""The `craft_sdk` logger: quiet by default, `CRAFT_LOG=info|debug` prints one line per request.

The SDK only ever logs headers through `redacted_headers`; the filter below is the second line of
defence, for a bearer token that reaches a log record any other way.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Final

LOG_ENV: Final = "CRAFT_LOG"
logger = logging.getLogger("craft_sdk")

_BEARER: Final = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")


class RedactingFilter(logging.Filter):
    """Masks `Bearer <token>` in the message and in string arguments of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _BEARER.sub(r"\1[redacted]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _BEARER.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def setup_logging() -> None:
    """Apply `CRAFT_LOG`; called once, when craft_sdk is imported."""
    logger.addFilter(RedactingFilter())
    level = os.environ.get(LOG_ENV, "").strip().lower()
    if level not in ("debug", "info"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
