"""Users, password login and API tokens."""
