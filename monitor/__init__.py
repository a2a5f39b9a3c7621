"""The one scheduler process: polls getWebhookInfo, judges it, raises alerts (see docs/monitor.md)."""
