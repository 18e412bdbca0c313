"""The Meta family: every adapter that talks to Meta's Graph API with one
access token.

- ``graph.py``: ``GraphClient`` (facebook-sdk's ``GraphAPI`` with a current
  version, a timeout and error mapping) and ``graph_version``;
- ``errors.py``: Graph API error codes -> ``errors`` classes;
- ``base.py``: ``GraphAdapter``, the base class (client per instance,
  ``reconcile`` helper);
- ``facebook.py`` (platform ``facebook``), ``instagram.py`` (``instagram``).

A new Meta platform (Threads) adds one module here and reuses the rest.
"""
