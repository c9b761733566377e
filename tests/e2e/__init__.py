"""End-to-end tests: the real Pulumi CLI runs the program against a local moto server."""
