"""Pure plans beyond pip: upgrade, rollback, autoremove, diff."""
