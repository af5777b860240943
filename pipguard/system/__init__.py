"""The system edges: processes (the one seam), the environment and its probe."""
