"""Finding channels: the `loom.channels` entry point group, name → Channel class.

Why entry points: a deployment adds a channel (SMS, Feishu, Slack) by installing a
package, without touching Loom. The built-in ones are registered in pyproject.toml
like any other, so there is one way to find them all. `BUILTIN` is the same list for
environments where the package metadata is not installed (a source checkout).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from plugins.channels.base import Channel

GROUP = "loom.channels"

BUILTIN: dict[str, str] = {
    "inbox": "plugins.channels.inbox:InboxChannel",
    "email": "plugins.channels.smtp:EmailChannel",
    "webhook": "plugins.channels.webhook:WebhookChannel",
    "dingtalk": "plugins.channels.dingtalk:DingTalkChannel",
    "wecom": "plugins.channels.wecom:WeComChannel",
}


def _load(target: str) -> type[Channel]:
    module_name, _, attr = target.partition(":")
    found = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(found, type) and issubclass(found, Channel)):
        raise TypeError(f"{target} is not a Channel class")
    return found


def channel_classes() -> dict[str, type[Channel]]:
    """Every channel: the built-ins, then installed entry points (which may override)."""
    found = {name: _load(target) for name, target in BUILTIN.items()}
    for ep in entry_points(group=GROUP):
        loaded = ep.load()
        if isinstance(loaded, type) and issubclass(loaded, Channel):
            found[ep.name] = loaded
    return found
