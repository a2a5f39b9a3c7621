"""The one scheduler process: polls getWebhookInfo, judges, raises alerts (docs/monitor.md)."""
