"""Plain-Python AWS workflows (boto3 only, no Pulumi): the functional core of Bakery."""
