"""Records: the one lifecycle every write path goes through."""
