"""One module per pipguard command."""
