"""The embedded key service (KMS): master keys wrapped by a root key, data keys for
envelope encryption, authorization by room-access grant, and an audit log.

See docs/key-service.md. Its storage is never the chat database.
"""
