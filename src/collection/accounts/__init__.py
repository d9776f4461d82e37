"""Staff accounts: users with roles, password login with a session cookie, bearer API tokens."""
