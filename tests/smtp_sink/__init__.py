"""A real SMTP server for tests (aiosmtpd), run as a subprocess on 127.0.0.1. See fixture.py."""
