"""Errors a user can act on: each message names the problem and, where it can, the fix."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "FlAppError"]


class FlAppError(Exception):
    """Base class of every error this application reports to a user in one line."""


class ConfigError(FlAppError):
    """A run-configuration value is missing, of the wrong type or out of range."""


class DataError(FlAppError):
    """A data set or CSV file cannot be used for training."""
