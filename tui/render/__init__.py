"""Text output shared by panes and batch mode: compact lines, safe text."""
