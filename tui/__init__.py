"""ebtop: a top-style terminal monitor for eBPF observability on Kubernetes nodes."""

__version__ = "0.1.0"
