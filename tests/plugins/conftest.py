"""Fixtures of the channel tests live in `channel_servers` (a uniquely named module, so
imports of its helpers cannot pick up another directory's conftest)."""

from channel_servers import http_server, smtp_server, tls_files

__all__ = ["http_server", "smtp_server", "tls_files"]
