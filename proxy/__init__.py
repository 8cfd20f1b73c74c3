"""Passerelle's HTTP edge (aiohttp): OAuth2 server, data APIs, household pages, audit API.

It wires the domain (``consent``) to the DSO adapters (``adapters``); no consent rule lives here.
"""
