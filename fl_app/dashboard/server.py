"""Serve a WSGI app from a background thread on a loopback address."""

from __future__ import annotations

import ipaddress
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from fl_app.errors import FlAppError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["DashboardError", "DashboardServer"]

_STOP_TIMEOUT_S = 10.0


class DashboardError(FlAppError):
    """The dashboard cannot be served (port taken, address not on this machine)."""


class _QuietRequestHandler(WSGIRequestHandler):
    # Polling would print a line every two seconds into the demo's console.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class DashboardServer:
    """A threaded werkzeug server for ``app`` on ``host:port``, in a daemon thread.

    ``port`` 0 takes a free port; `url` says which. Only loopback addresses are
    accepted: the dashboard has no authentication. Use as a context manager, or call
    `start` and `stop`.
    """

    def __init__(self, app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise DashboardError(f"the dashboard serves on loopback only, not on {host}")
        if not 0 <= port <= 65535:
            raise DashboardError(f"port {port} is not between 0 and 65535")
        self._app = app
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the dashboard is served (after `start`)."""
        if self._server is None:
            raise DashboardError("the dashboard server is not running")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._server.server_port}/"

    def start(self) -> str:
        """Bind and serve in the background; return the URL."""
        if self._server is not None:
            return self.url
        try:
            server = make_server(
                self._host,
                self._port,
                self._app,
                threaded=True,
                request_handler=_QuietRequestHandler,
            )
        except (OSError, SystemExit) as err:
            # werkzeug exits when the port is taken; a library must not end the process.
            raise DashboardError(
                f"cannot serve the dashboard on {self._host}:{self._port} (is the port "
                "taken? choose another, or 0 for a free one)"
            ) from err
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fl-app-dashboard", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket; waits for the serving thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=_STOP_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> DashboardServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
