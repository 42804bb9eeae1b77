"""Sealchat: a self-hostable realtime team chat whose messages are sealed in the client."""

__version__ = "0.1.0"
