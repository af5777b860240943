"""The uv engine: uv's pip interface, its options and output."""
