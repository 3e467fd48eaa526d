"""Uploaded files: content-addressed storage, type sniffing, references from records."""
