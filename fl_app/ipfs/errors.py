"""IPFS errors: one base class, one subclass per thing that can go wrong."""

from __future__ import annotations

from fl_app.errors import FlAppError

__all__ = [
    "BundleError",
    "BundleRefusedError",
    "CidError",
    "CidMismatchError",
    "DaemonStartError",
    "IpfsError",
    "IpfsNotFoundError",
    "IpfsRequestError",
    "IpfsUnavailableError",
    "KuboNotInstalledError",
]


class IpfsError(FlAppError):
    """Base class of every IPFS error; its message is one line saying what to do."""


class IpfsUnavailableError(IpfsError):
    """The daemon's RPC API did not answer (refused, reset or timed out)."""


class IpfsRequestError(IpfsError):
    """The daemon answered a request with an error."""


class IpfsNotFoundError(IpfsRequestError):
    """The daemon does not hold the requested content (it runs offline, so it cannot look)."""


class CidError(IpfsError):
    """A string is not a CID this project can use."""


class CidMismatchError(IpfsError):
    """Content does not hash to the CID it was expected to have; it must not be used.

    Parameters
    ----------
    what
        What the content is, for the message (``"client template"``).
    expected, actual
        The CID that was asked for and the CID the received bytes hash to.
    """

    def __init__(self, what: str, *, expected: str, actual: str) -> None:
        super().__init__(
            f"{what} refused: expected CID {expected} but the received bytes hash to "
            f"{actual}; do not run or use this content"
        )
        self.expected = expected
        self.actual = actual


class BundleError(IpfsError):
    """A template bundle is malformed or unsafe (path escape, link, device file)."""


class BundleRefusedError(BundleError):
    """A bundle (or the run config sent with it) is not the task's; none of it was run."""


class DaemonStartError(IpfsError):
    """The Kubo daemon could not be initialised or did not become ready in time."""


class KuboNotInstalledError(DaemonStartError):
    """No ``ipfs`` (Kubo) binary was found."""
