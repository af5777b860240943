"""An environment's pip through pipguard: bin/pip scripts, the shim record, the python -m pip hook."""
