"""Passerelle's domain: who allowed which recipient to read which meter, how, until when.

Pure Python and SQLModel. Nothing in this package imports a web framework, ``adapters`` or
``proxy``: the dependency direction is ``proxy -> adapters -> consent``.
"""
