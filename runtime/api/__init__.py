"""The HTTP edge: the app factory, error mapping and shared dependencies."""
