"""Pure data structures fed by sources and read by panes. No Textual, no I/O."""
