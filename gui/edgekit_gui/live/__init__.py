"""Widgets and plumbing of the Live demo page: frame bridge, video view, readouts, plots."""
