"""Machines stix does not provision: this machine (`local`) and ssh node pools (`ssh`).
They implement `stix.clouds.base.Machines` and are registered beside the clouds."""
