"""Evidence: signed records, a tamper-evident log, proof documents and proof bundles (R16-R18).

What an auditor needs to be shown, and how Passerelle keeps it:

- every consent and mandate change is a **signed record** (RFC 8785 canonical JSON, Ed25519,
  :mod:`consent.evidence.signing`, schema in :mod:`consent.evidence.records`);
- every event (records, data accesses, admin and audit actions, key rotations) is a leaf of an
  **RFC 6962 Merkle log** (:mod:`consent.evidence.log`) whose heads are published as **C2SP signed
  checkpoints** (:mod:`consent.evidence.checkpoints`);
- proof documents (R2) are kept **encrypted in the database**, bound to their tenant and id
  (:mod:`consent.evidence.blobs`, :mod:`consent.evidence.blobs_db`);
- usage traces past retention lose their payload, never their leaf (R17,
  :mod:`consent.evidence.retention`);
- a **proof bundle** (:mod:`consent.evidence.bundle`) is checked offline by
  :mod:`consent.evidence.verify`, which imports only the standard library, ``cryptography``,
  ``rfc8785`` and this package's pure modules (``canonical``, ``merkle``, ``notes``, ``keys``,
  ``signing``, ``selection``, ``coverage``, ``summary``, ``verify_log``; tests/evidence/test_cli.py
  runs it with every database and web package blocked).

:class:`consent.evidence.service.Evidence` is the one object the rest of Passerelle talks to.
This package's ``__init__`` imports nothing, so the offline verifier never pulls in a database
driver.
"""
