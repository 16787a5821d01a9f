"""Outbound requests to addresses that users name (webhooks, alert channels): one address check."""
