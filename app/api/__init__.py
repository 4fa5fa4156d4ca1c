"""The lookup API's building blocks that need no HTTP: users, passwords, tokens and scopes."""
