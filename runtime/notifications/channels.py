"""Channel settings from the environment, and building a channel from them.

Secrets (SMTP password, webhook signing secrets) are read from environment variables
when a job runs and go straight into the channel's config: never into a job payload,
a log line or an error message. Variables (all optional; a channel without its
required ones fails with a clear, non-secret "not configured" error):

    email     LOOM_SMTP_HOST, LOOM_SMTP_PORT, LOOM_SMTP_SENDER, LOOM_SMTP_USERNAME,
              LOOM_SMTP_PASSWORD, LOOM_SMTP_STARTTLS, LOOM_SMTP_SSL, LOOM_SMTP_TIMEOUT
    webhook   LOOM_WEBHOOK_URL, LOOM_WEBHOOK_SECRET, LOOM_WEBHOOK_TIMEOUT
    dingtalk  LOOM_DINGTALK_URL, LOOM_DINGTALK_SECRET
    wecom     LOOM_WECOM_URL
    call_webhook secrets: LOOM_SECRET_<NAME> for a rule's `"secret": "<name>"`
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from plugins.channels.base import Channel
from plugins.channels.registry import channel_classes

_BOOL = {"1", "true", "yes", "on"}
_KEYS: dict[str, dict[str, str]] = {
    "email": {"host": "LOOM_SMTP_HOST", "port": "LOOM_SMTP_PORT",
              "sender": "LOOM_SMTP_SENDER", "username": "LOOM_SMTP_USERNAME",
              "password": "LOOM_SMTP_PASSWORD", "starttls": "LOOM_SMTP_STARTTLS",
              "ssl": "LOOM_SMTP_SSL", "timeout": "LOOM_SMTP_TIMEOUT"},
    "webhook": {"url": "LOOM_WEBHOOK_URL", "secret": "LOOM_WEBHOOK_SECRET",
                "timeout": "LOOM_WEBHOOK_TIMEOUT"},
    "dingtalk": {"url": "LOOM_DINGTALK_URL", "secret": "LOOM_DINGTALK_SECRET"},
    "wecom": {"url": "LOOM_WECOM_URL"},
}
_FLAGS = frozenset({"starttls", "ssl"})


def channel_config(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config dict of channel `name` from environment variables (unset ones left out)."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for key, var in _KEYS.get(name, {}).items():
        raw = env.get(var)
        if raw in (None, ""):
            continue
        config[key] = raw.strip().lower() in _BOOL if key in _FLAGS else raw
    return config


def secret(name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The signing secret a rule names (`LOOM_SECRET_<NAME>`), or None."""
    if not name:
        return None
    env = os.environ if environ is None else environ
    return env.get(f"LOOM_SECRET_{name.upper()}") or None


def build_channel(name: str, **services: Any) -> Channel:
    """The channel plugin `name`, configured from the environment."""
    classes = channel_classes()
    if name not in classes:
        raise LookupError(f"unknown channel {name!r}")
    return classes[name].from_config(channel_config(name), **services)
