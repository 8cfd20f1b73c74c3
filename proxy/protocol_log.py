"""aiohttp's server log, with the client's malformed requests on one line.

aiohttp answers a request it cannot parse (a request line or a header longer than its limits,
``LineTooLong``; a bad status line, a bad header, ``BadStatusLine``/``BadHttpMessage``: all
:class:`~aiohttp.http_exceptions.HttpProcessingError` with a 4xx code) itself, then logs
``Error handling request`` at ERROR *with the whole traceback* on ``aiohttp.server``. Anyone
can send such a request, unauthenticated and as often as they like, so each would cost the
logs a multi-line traceback, and an ERROR page for the operator about no error of ours. The
traceback's last line also quotes the request line (up to aiohttp's limit), query string
included.

:class:`ParseErrorLog` is the logger ``create_app`` hands aiohttp (``handler_args``): such a
refusal becomes one INFO line naming the status and the kind of error, nothing the client sent
(no request line, no address: ``proxy/logging_setup.py``). The 4xx answer is aiohttp's, as
before. Every other exception (a handler's, a 5xx) keeps its ERROR line and traceback.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger


class ParseErrorLog(logging.LoggerAdapter[logging.Logger]):
    """``aiohttp.server``, where a client's unparsable request is one INFO line."""

    def __init__(self, logger: logging.Logger = server_logger) -> None:
        super().__init__(logger, {})

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        """The record as the caller made it (the base class would replace its ``extra``)."""
        return msg, kwargs

    def exception(self, msg: object, *args: object, exc_info: Any = True,
                  **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError) and 400 <= exc_info.code < 500:
            self.logger.info("Refused a malformed request: %d %s", exc_info.code,
                             type(exc_info).__name__)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)
