"""Domain code shared by the smspartner-stoplist handlers (built into the Lambda layer).

One job per module: ``config`` (settings from the environment), ``phone`` (E.164), ``events`` (the
opt-out event contract), ``secrets`` (the API key), ``provider`` (SMS Partner client), ``dead_letters``,
``table`` (DynamoDB access), ``optout`` (the opt-out service), ``snapshot`` (stop list -> table),
``lookup`` (read helper for other services), ``wiring`` (builds the objects once per container).
"""
