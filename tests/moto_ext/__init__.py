"""Small, named moto extensions: where moto does less than AWS in a way Bakery relies on.

Each module patches moto only inside its ``installed()`` context manager.
"""
