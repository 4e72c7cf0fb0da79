"""Clouds as plug-ins: one package per cloud (`stix/clouds/<name>/`), registered in
`registry` with one line, implementing `base.Cloud`. Generic code asks `get(name)`."""

from stix.clouds.registry import all_clouds, canonical, cloud, get, machines, names

__all__ = ["all_clouds", "canonical", "cloud", "get", "machines", "names"]
