"""Bakery's policy pack (policy/): rules as plain functions, wired by __main__.py."""
