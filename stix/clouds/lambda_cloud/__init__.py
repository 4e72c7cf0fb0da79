"""Lambda (Lambda Cloud, formerly Lambda Labs) as stix knows it: GPU VMs with public IPv4
addresses, launched through Lambda's public REST API (Cloud API v1). The package is called
`lambda_cloud` because `lambda` is a Python keyword; the provider's name is `lambda`
(SkyPilot's `lambdalabs` and `lambda_cloud` spell it too).

Lambda has no maintained Pulumi provider, so its program declares resources of a Pulumi
dynamic provider written here on `stix.clouds.dynamic`: an SSH key, a firewall ruleset
and one instance per node (`api.py` holds their operations, `types.py` their types).
"""
