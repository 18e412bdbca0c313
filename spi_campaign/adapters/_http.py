"""Compatibility import path for code written before the adapters were split
into families. New code imports from the new homes:

- ``_transport``: sessions, library-log guards, transport errors, times;
- ``_content``: ``read_image``, ``normalise_text``;
- ``x/errors.py``: X's error mapping;
- ``meta/graph.py``, ``meta/errors.py``: the Graph client and Meta's error mapping.
"""

__all__ = ["normalise_text", "read_image", "DEFAULT_TIMEOUT", "GUARDED_LOGGERS", "from_epoch", "new_session",
           "option_float", "protect_library_logs", "transport_error", "graph_error", "graph_retry_after",
           "GraphClient", "form", "graph_version", "x_http_error", "x_problem_detail", "x_retry_after"]

from spi_campaign.adapters._content import normalise_text, read_image  # noqa: F401
from spi_campaign.adapters._transport import (DEFAULT_TIMEOUT, GUARDED_LOGGERS, from_epoch,  # noqa: F401
                                              new_session, option_float, protect_library_logs,
                                              transport_error)
from spi_campaign.adapters.meta.errors import graph_error, graph_retry_after  # noqa: F401
from spi_campaign.adapters.meta.graph import GraphClient, form, graph_version  # noqa: F401
from spi_campaign.adapters.x.errors import x_http_error, x_problem_detail, x_retry_after  # noqa: F401
