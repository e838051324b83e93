"""Logging set-up: one JSON object per line (or plain text for people), secrets masked on the way out."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from service.core.redaction import Redactor

# Attributes every LogRecord has; anything else passed with `extra=` is structured context.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        cleaned = self._redactor.data(line)
        return json.dumps(cleaned, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        text = super().format(record)
        if extra:
            text += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return self._redactor.text(text)


def configure_logging(fmt: str, level: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs full request URLs at DEBUG, which would include the webhook code before masking.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
