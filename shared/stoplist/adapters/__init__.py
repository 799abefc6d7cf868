"""Adapters to the outside world: SMS Partner's API and AWS (DynamoDB, SQS, Secrets Manager).

Each translates its library's failures into the typed errors of ``stoplist.errors`` (``from None``, so that
no secret rides along on a chained cause).
"""
