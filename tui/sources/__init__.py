"""Producers of data: gRPC streams, replay files and bcc programs. No Textual here."""
