"""The generic record store: tables, engine set-up, migrations."""
