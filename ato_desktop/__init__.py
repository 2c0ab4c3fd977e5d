"""ATO Desktop: the local-first operations layer for LLM agents."""

__version__ = "0.1.0"
APP_NAME = "ATO Desktop"
APP_ID = "dev.ato.Desktop"
