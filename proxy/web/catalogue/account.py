"""Placeholder (filled below)."""

from proxy.web.lang import Catalogue

MESSAGES: Catalogue = {}
