"""RunPod as stix knows it: GPU and CPU *pods* (containers on RunPod's hosts, reached over
SSH through a mapped public TCP port), created through RunPod's public GraphQL API by a
Pulumi dynamic provider written here (`api.py`) on `stix.clouds.dynamic`. RunPod's own
Pulumi provider (pulumi-runpod 1.2.4, April 2024) is not used: it is stale."""
