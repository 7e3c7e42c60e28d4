"""pytest fixtures: ``usage_api`` (the provider usage/cost API emulator, with the planted admin keys) and
``slack_sink`` (a Slack incoming-webhook sink). Both run in-process on 127.0.0.1 on a free port and are
stopped at the end of the test."""

from __future__ import annotations

import pytest

from usage_api_emulator import SlackWebhookSink, UsageApiEmulator


def planted_keys():
    from conftest import PLANTED  # tests/conftest.py

    return PLANTED["anthropic_admin_key"], PLANTED["openai_admin_key"]


@pytest.fixture
def usage_api():
    anthropic, openai = planted_keys()
    emulator = UsageApiEmulator([anthropic], [openai]).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def slack_sink():
    sink = SlackWebhookSink().start()
    try:
        yield sink
    finally:
        sink.stop()
