"""The stix server: the control plane for long-running work (managed jobs now; serving and
team mode later). An HTTP API over a SQL database that holds all of its state, so a server
that is killed or upgraded resumes where it was; its controller provisions through the
same path as `stix up`. Nothing here is imported by `stix --help` or `stix status`."""
