"""The only code that knows DSO wire formats. Imports ``consent`` vocabulary, never ``proxy``."""
