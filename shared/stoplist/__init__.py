"""The smspartner-stoplist package, built into the Lambda layer. Grouped by role:

- ``stoplist.domain``: what the application decides, free of AWS and HTTP: ``phone`` (E.164), ``events``
  (the opt-out event contract), ``optout`` (the opt-out service), ``snapshot`` (stop list -> table) and
  ``ports`` (the protocols its collaborators implement).
- ``stoplist.adapters``: the outside world behind those protocols: ``provider`` (SMS Partner client),
  ``table`` (DynamoDB), ``dead_letters`` (SQS), ``secrets`` (Secrets Manager).
- ``stoplist.wiring``: the one place where adapters are built and joined to the domain.
- Shared by all: ``config`` (validated settings), ``errors`` (typed errors), ``observability`` (the one
  Logger and Metrics).
- Public helpers for other services: ``lookup`` ("may I text this number?").
"""
