"""Renderers: the same results as terminal text, JSON, Markdown and HTML."""
