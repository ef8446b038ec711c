"""Command-line options and batch mode, one module per pane family. No Textual here."""
