"""Emulator of the Anthropic and OpenAI organisation usage and cost APIs, and of a Slack incoming webhook.

Test infrastructure (README.md): built to the providers' documented request and response shapes, so the n8n
token tracker can be tested end to end without the real services. Run it in-process
(``UsageApiEmulator(...).start()``) or as a program (``python -m usage_api_emulator --help``).
"""

from .server import UsageApiEmulator, UsageRecord, CostRecord  # noqa: F401
from .slack import SlackWebhookSink  # noqa: F401
