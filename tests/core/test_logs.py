"""Secrets are masked in every log record, whatever code logged them."""

from __future__ import annotations

import logging

from core.logs import RedactSecrets
from tests.helpers.support import BOT_TOKEN, SECRET


def test_known_secrets_and_token_urls_are_masked(caplog):
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactSecrets([SECRET, BOT_TOKEN]))
    with caplog.at_level(logging.INFO):
        logger.info("secret %s and token %s", SECRET, BOT_TOKEN)
        logger.info("GET https://api.telegram.org/bot999:XYZ_abc-def/getMe failed")
    text = caplog.text
    assert SECRET not in text and BOT_TOKEN not in text and "999:XYZ" not in text
    assert "***" in text and "bot<token>" in text
