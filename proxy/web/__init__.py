"""Server-rendered household pages: templates, languages, sessions, CSRF, security headers."""
