"""Nebius AI Cloud: Compute VMs (GPU platforms and CPU platforms) in a stack-owned VPC."""
