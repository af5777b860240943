"""pip's command line, read once: request, requirement files, option table, configuration."""
