"""Runtime side of the expression language: SQL over the records table, and the API
the designer uses (function list, check, try-it evaluation)."""
