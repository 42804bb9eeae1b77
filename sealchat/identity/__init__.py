"""The embedded identity provider: the single-machine stand-in for Cognito User Pools.

It keeps accounts (argon2id password hashes) and refresh tokens in the ``idp_*`` tables,
signs short-lived EdDSA access tokens with a key file kept outside the database, and
publishes that key as a JWKS so the chat server verifies its tokens exactly as it would
verify Cognito's.
"""
