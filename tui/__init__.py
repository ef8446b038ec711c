"""ebtop: a top-style terminal monitor for eBPF observability on Kubernetes nodes."""

import os

__version__ = "0.1.0"

# gRPC's C core writes connection and TLS errors straight to stderr, which is the TUI's screen; ebtop
# reports them itself in the pane's status. GRPC_VERBOSITY set by the user still wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
