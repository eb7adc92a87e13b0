"""A small typed client for Kubo's HTTP RPC API (``POST /api/v0/...``).

ipfshttpclient refuses Kubo >= 0.8, so this talks to the documented RPC endpoints
directly with httpx. Every call has a per-attempt timeout and a bounded number of
retries on transport errors only (refused, reset, timed out); an error the daemon
reports is not retried, because asking again gives the same answer. A call therefore
fails within ``(retries + 1) * timeout`` plus the back-off sleeps, never hangs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from fl_app.ipfs.errors import (
    CidMismatchError,
    IpfsNotFoundError,
    IpfsRequestError,
    IpfsUnavailableError,
)
from fl_app.ipfs.unixfs import DEFAULT_IMPORT, ImportParams, file_cid, stream_cid

__all__ = ["DEFAULT_API_URL", "START_HINT", "IpfsClient"]

DEFAULT_API_URL = os.environ.get("FL_APP_IPFS_API", "http://127.0.0.1:5001")
START_HINT = (
    "Start it with `bash scripts/setup_ipfs.sh && python -m fl_app.ipfs daemon` "
    "(or point FL_APP_IPFS_API at a running Kubo RPC API)"
)
_NOT_FOUND_MARKERS = ("not found locally", "could not find", "no link named", "not pinned")


class IpfsClient:
    """Client of one Kubo daemon's RPC API.

    Parameters
    ----------
    api_url
        Base URL of the RPC API, e.g. ``http://127.0.0.1:5001``.
    timeout
        Seconds allowed for each attempt (connect, and each read while streaming).
    retries
        Extra attempts after a transport error; 0 means try once.
    retry_backoff
        Seconds slept before the first retry; doubled for each further retry.
    import_params
        Chunking used for every add; the same parameters are used to check CIDs locally.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        retry_backoff: float = 0.25,
        import_params: ImportParams = DEFAULT_IMPORT,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.import_params = import_params
        # The RPC API is an admin interface: never send it through an HTTP proxy.
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> IpfsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------

    @contextmanager
    def _stream(
        self, command: str, params: dict[str, str] | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """POST ``/api/v0/<command>``; yield the response once its status is OK.

        Sending and reading the status line are retried; a transport error while
        the caller reads the body is reported at once (the body may be half-used).
        """
        response = self._send(command, params, **kwargs)
        try:
            if response.status_code >= 400:
                response.read()
                raise _request_error(command, response)
            try:
                yield response
            except httpx.TransportError as err:
                raise self._unavailable(err, "while reading the reply") from err
        finally:
            response.close()

    def _send(self, command: str, params: dict[str, str] | None, **kwargs: Any) -> httpx.Response:
        last_error: httpx.TransportError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                # A body that can only be read once cannot be sent again.
                if "files" in kwargs and not _rewind(kwargs["files"]):
                    break
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            request = self._http.build_request(
                "POST", f"/api/v0/{command}", params=params, **kwargs
            )
            try:
                return self._http.send(request, stream=True)
            except httpx.TransportError as err:
                last_error = err
        raise self._unavailable(last_error, f"after {self.retries + 1} attempts")

    def _unavailable(self, error: Exception | None, when: str) -> IpfsUnavailableError:
        reason = f"{type(error).__name__}: {error}" if error else "no answer"
        return IpfsUnavailableError(
            f"IPFS daemon at {self.api_url} not reachable: {reason} "
            f"({when}, {self.timeout:g}s timeout each). {START_HINT}"
        )

    def _call(self, command: str, params: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """POST a command and decode its single JSON reply."""
        with self._stream(command, params, **kwargs) as response:
            body = response.read()
        return json.loads(body) if body.strip() else None

    # -- daemon ------------------------------------------------------------------

    def version(self) -> str:
        """The daemon's Kubo version, e.g. ``"0.39.0"``."""
        return str(self._call("version")["Version"])

    def check_health(self) -> None:
        """Raise :class:`IpfsUnavailableError` unless the daemon answers."""
        self.version()

    def is_healthy(self) -> bool:
        """True when the daemon answers; never raises for an unreachable daemon."""
        try:
            self.check_health()
        except IpfsUnavailableError:
            return False
        return True

    def config_show(self) -> dict[str, Any]:
        """The daemon's whole config (private key removed by Kubo)."""
        config = self._call("config/show")
        if not isinstance(config, dict):
            raise IpfsRequestError(f"config/show returned {type(config).__name__}, not an object")
        return config

    # -- content -----------------------------------------------------------------

    def add_bytes(
        self, data: bytes, *, pin: bool = True, name: str = "data", check_cid: bool = True
    ) -> str:
        """Add ``data`` as a file and return its CID, checked against the local computation.

        Parameters
        ----------
        data
            The file's bytes.
        pin
            Pin the content so garbage collection keeps it.
        name
            File name sent with the upload (not part of the CID).
        check_cid
            Compare the daemon's CID with :func:`~fl_app.ipfs.unixfs.file_cid`.

        Raises
        ------
        CidMismatchError
            If the daemon's CID differs from the one computed locally (its import
            layout is not the project's); the content is unpinned again.
        """
        cid = self._add((name, data, "application/octet-stream"), pin=pin)
        if check_cid:
            self._expect_local_cid(cid, file_cid(data, self.import_params), pin=pin)
        return cid

    def add_file(self, path: Path, *, pin: bool = True) -> str:
        """Add a file from disk (streamed, not read into memory) and return its CID."""
        with path.open("rb") as handle:
            cid = self._add((path.name, handle, "application/octet-stream"), pin=pin)
            handle.seek(0)
            expected = stream_cid(handle, self.import_params)
        self._expect_local_cid(cid, expected, pin=pin)
        return cid

    def _add(self, upload: tuple[str, bytes | BinaryIO, str], *, pin: bool) -> str:
        params = self.import_params.add_options() | {
            "pin": _flag(pin),
            "progress": "false",
        }
        with self._stream("add", params, files={"file": upload}) as response:
            lines = [line for line in response.iter_lines() if line.strip()]
        if not lines:
            raise IpfsRequestError("add returned no result")
        return str(json.loads(lines[-1])["Hash"])

    def _expect_local_cid(self, daemon_cid: str, local_cid: str, *, pin: bool) -> None:
        if daemon_cid != local_cid:
            if pin:
                self.pin_rm(daemon_cid)
            raise CidMismatchError(
                "added content (daemon import layout differs from the project's)",
                expected=local_cid,
                actual=daemon_cid,
            )

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        """Return the bytes of the file ``cid`` from the daemon.

        Parameters
        ----------
        cid
            CID of a file.
        max_bytes
            Refuse (``IpfsRequestError``) content longer than this many bytes.
        """
        with self._stream("cat", {"arg": cid}) as response:
            return read_capped(response, cid, max_bytes)

    def cat_to_file(self, cid: str, destination: Path) -> int:
        """Stream the file ``cid`` into ``destination``; return the byte count."""
        total = 0
        with self._stream("cat", {"arg": cid}) as response, destination.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
                total += len(chunk)
        return total

    # -- pins --------------------------------------------------------------------

    def pin_add(self, cid: str) -> None:
        """Pin ``cid`` recursively (it must already be in the daemon's blockstore)."""
        self._call("pin/add", {"arg": cid, "recursive": "true"})

    def pin_rm(self, cid: str) -> None:
        """Unpin ``cid``; its blocks become eligible for garbage collection."""
        self._call("pin/rm", {"arg": cid, "recursive": "true"})

    def pin_ls(self) -> dict[str, str]:
        """Every pin, as ``{cid: type}`` with type ``recursive``, ``direct`` or ``indirect``."""
        reply = self._call("pin/ls", {"stream": "false"})
        keys = (reply or {}).get("Keys") or {}
        return {cid: str(info["Type"]) for cid, info in keys.items()}

    def is_pinned(self, cid: str) -> bool:
        """True when ``cid`` is pinned recursively or directly."""
        try:
            reply = self._call("pin/ls", {"arg": cid, "type": "all"})
        except IpfsNotFoundError:
            return False
        types = {info["Type"] for info in ((reply or {}).get("Keys") or {}).values()}
        return bool(types & {"recursive", "direct"})


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _rewind(files: dict[str, tuple[str, bytes | BinaryIO, str]]) -> bool:
    for _, body, _ in files.values():
        if not isinstance(body, bytes | bytearray):
            if not body.seekable():
                return False
            body.seek(0)
    return True


def _request_error(command: str, response: httpx.Response) -> IpfsRequestError:
    try:
        message = str(response.json().get("Message", "")).strip()
    except (ValueError, AttributeError):
        message = response.text.strip()
    message = " ".join(message.split()) or f"HTTP {response.status_code}"
    if any(marker in message for marker in _NOT_FOUND_MARKERS):
        return IpfsNotFoundError(f"IPFS {command}: {message}")
    return IpfsRequestError(f"IPFS {command} failed: {message}")


def read_capped(response: httpx.Response, cid: str, max_bytes: int | None) -> bytes:
    """Read a streamed response body, refusing (``IpfsRequestError``) more than ``max_bytes``."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise IpfsRequestError(f"{cid} is larger than the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
