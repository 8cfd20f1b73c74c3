"""The OAuth 2 authorization server (RFC 6749 and friends), driven by authlib."""
