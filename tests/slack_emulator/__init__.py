"""Slack Web API emulator (test infrastructure): the file-upload flow and incoming webhooks. See README.md."""
