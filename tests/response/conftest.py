"""Fixtures of the response tests: namespaces built by :mod:`response_netns`."""

from response_netns import home, pair, root_namespaces

__all__ = ["home", "pair", "root_namespaces"]
