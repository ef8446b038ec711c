"""Generated protobuf/gRPC code (do not edit; regenerate with `python protos/generate.py`)."""
