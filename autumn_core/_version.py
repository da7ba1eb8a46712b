"""The SDK's version, kept in a module of its own so the User-Agent needs no metadata lookup."""

__version__ = "0.1.0"
