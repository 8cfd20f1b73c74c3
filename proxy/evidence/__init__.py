"""The evidence subsystem at the HTTP edge: wiring, the audit API, bundles for download."""
