"""Widgets of the Optimize page: target cards, plan settings, plan results."""
