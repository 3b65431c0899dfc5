"""Small reusable widgets: message banner, badges, cards, tables, plots."""
