"""Read-only fetches over an IPFS HTTP gateway (``GET /ipfs/<cid>``).

Participants should not need the organisation's RPC API: it is an admin interface
(it can pin, unpin and change config) and must stay on loopback. The gateway is the
read-only way in. Nothing it returns is trusted: callers verify the bytes against the
CID (see :func:`fl_app.ipfs.content.fetch_verified`).
"""

from __future__ import annotations

import time

import httpx

from fl_app.ipfs.cid import Cid
from fl_app.ipfs.errors import IpfsNotFoundError, IpfsRequestError, IpfsUnavailableError
from fl_app.ipfs.rpc import read_capped

__all__ = ["GatewaySource"]


class GatewaySource:
    """Fetch files by CID from a gateway such as ``http://127.0.0.1:8080``.

    Parameters
    ----------
    gateway_url
        Base URL of the gateway.
    timeout
        Seconds allowed for each attempt (connect, and each read).
    retries
        Extra attempts after a transport error.
    """

    def __init__(self, gateway_url: str, *, timeout: float = 30.0, retries: int = 2) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        """Return the bytes the gateway serves for ``cid`` (unverified)."""
        Cid.parse(cid)
        url = f"{self.gateway_url}/ipfs/{cid}"
        last_error: httpx.TransportError | None = None
        with httpx.Client(timeout=self.timeout, trust_env=False) as http:
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(0.25 * 2 ** (attempt - 1))
                try:
                    return _read(http, url, cid, max_bytes)
                except httpx.TransportError as err:
                    last_error = err
        raise IpfsUnavailableError(
            f"IPFS gateway at {self.gateway_url} not reachable: "
            f"{type(last_error).__name__}: {last_error} (after {self.retries + 1} attempts)"
        )


def _read(http: httpx.Client, url: str, cid: str, max_bytes: int | None) -> bytes:
    with http.stream("GET", url) as response:
        if response.status_code == 404:
            raise IpfsNotFoundError(f"gateway has no content for {cid}")
        if response.status_code >= 400:
            response.read()
            detail = " ".join(response.text.split())[:200]
            raise IpfsRequestError(f"gateway GET {cid}: HTTP {response.status_code} {detail}")
        return read_capped(response, cid, max_bytes)
