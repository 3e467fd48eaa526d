"""Running reports and dashboards: execution with limits, caching, export, HTTP."""
