"""Test harnesses with tests of their own: the Pulumi mocks and the moto-backed engine.

- ``recording_mocks``: ``RecordingMocks`` records registrations and their options.
- ``moto_engine``: ``MotoEngine`` runs programs as ``pulumi up`` would, against moto.
- ``clients``: ``reuse_clients`` builds each kind of boto3 client once per test.
"""
