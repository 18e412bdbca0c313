"""Platform adapters. See ``base.py`` for the contract and ``registry.py`` for lookup."""
