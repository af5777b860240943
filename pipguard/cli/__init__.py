"""Command line: main(argv), global options, the command registry, rendering."""
