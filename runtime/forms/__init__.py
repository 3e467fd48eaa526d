"""The form engine, wired to the store: compiling app forms, processing submissions
with the store's lookups and aggregates, and describing forms to the UI."""
