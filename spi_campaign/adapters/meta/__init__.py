"""The Meta family: every adapter that talks to Meta's Graph API with one
access token.

- ``graph.py``: ``GraphClient`` (facebook-sdk's ``GraphAPI`` with a current
  version, a timeout and error mapping) and ``graph_version``;
- ``errors.py``: Graph API error codes -> ``errors`` classes;
- ``base.py``: ``GraphAdapter``, the base class (client per instance,
  ``reconcile`` helper);
- ``facebook.py`` (platform ``facebook``), ``instagram.py`` (``instagram``,
  Facebook or Instagram Login), ``threads.py`` (``threads``,
  graph.threads.net). ``GraphClient`` takes the host (``base_url``).
"""
