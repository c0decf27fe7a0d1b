"""Django's PostgreSQL backend, with a health check that asks the socket before the server.

With CONN_HEALTH_CHECKS, Django checks a reused connection at the start of every request that uses
the database by running `SELECT 1`: a round trip and a statement on every rater call (measured on the
rater path, docs/results/studies-load.md). A connection the server has closed (a restart, an
administrator's pg_terminate_backend, an idle timeout) has something waiting on its socket: the
server's closing error, then the end of the stream. So an idle connection whose socket has nothing to
read is taken as usable with no round trip, and one with something waiting gets Django's own check
(SELECT 1), which fails and makes Django reconnect. What this cannot see is a peer that vanished
without closing (a cut network link): the original check waits for TCP's timeout on one, this one lets
the request's first statement fail; both are rare on a database next to its web servers.
"""
from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed:
            return False
        try:
            waiting, _, _ = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket itself is gone
            return False
        return super().is_usable() if waiting else True
