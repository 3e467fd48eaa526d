"""Notification channels: one small capability interface (`base.Channel`), found
through the `loom.channels` entry point group (`registry.channel_classes`)."""
