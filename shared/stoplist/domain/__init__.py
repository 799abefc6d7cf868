"""The domain: phone numbers, the event contract, the opt-out service, the snapshot rules.

It depends on its collaborators only through the protocols of ``stoplist.domain.ports``; the adapters that
implement them against SMS Partner and AWS live in ``stoplist.adapters`` and are joined in ``stoplist.wiring``.
"""
