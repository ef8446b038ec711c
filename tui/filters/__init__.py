"""Filters as domain code: Hubble FlowFilter and Tetragon allow/deny semantics, used by servers and sources."""
