"""Bakery's dynamic providers: Pulumi adapters over the workflows in ``providers.aws``."""
