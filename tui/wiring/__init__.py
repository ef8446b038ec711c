"""Wiring per pane family: its flags, how they build its sources and pane, and its batch printer.

One module per family (flows, processes, syscalls, profile …); no Textual here, so batch mode
starts without loading the UI.
"""
