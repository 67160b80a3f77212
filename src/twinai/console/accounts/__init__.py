"""Accounts: roles, remote-user registration and authorisation, audit trail."""
