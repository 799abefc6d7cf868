"""The operators' command, ``stoplist``: ships with the package, never in the Lambda layer (``shared/``)."""
