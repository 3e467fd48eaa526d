"""Apps: install, publish, export, drafts, and the cache of compiled versions."""
