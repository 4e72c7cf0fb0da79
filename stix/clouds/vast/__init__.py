"""Vast.ai: a GPU marketplace whose instances are Docker containers on hosts that others
run, rented from an offer found by search and reached over SSH through a mapped port.
Vast has no Pulumi provider: the program's one resource type is served by stix's dynamic
provider over Vast's REST API (`api.py`)."""
