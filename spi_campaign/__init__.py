"""spi-campaign: plan, preview and publish corruption-prevention posts.

Importing the package is cheap on purpose: no platform SDK, scheduler or
validation library is imported here, so ``spi --help`` stays fast.
"""

__version__ = "0.1.0"
