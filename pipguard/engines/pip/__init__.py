"""The pip engine: pip's command line, its gate, its version and report."""
