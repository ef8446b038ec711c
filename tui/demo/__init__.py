"""In-process demo gRPC servers and the seeded scenario that feeds them."""
