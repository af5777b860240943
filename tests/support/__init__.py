"""Test infrastructure: tiny real wheels, devstack's world, launchers."""
