"""The use cases on clusters, for every kind of provider: up and down (`lifecycle`), the
stack-backed lifecycle with failover (`stacks`, `failover`), existing machines
(`machines`), the node phase shared by all (`node_phase`), and jobs (`jobs`)."""
