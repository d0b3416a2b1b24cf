"""The aiohttp application: health, metrics, security headers, the inbox; connectors add their routes."""
