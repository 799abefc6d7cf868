"""Lambda entry points. Each is a thin shell over ``stoplist``: parse the event, call the domain, shape the answer.

Each module exposes ``lambda_handler`` and a cached ``dependencies()`` that builds its clients on the first
invocation; the rule, and why, is written once in ``devkit/lambda_runtime.py``, whose ``LocalFunction`` checks it.
"""
