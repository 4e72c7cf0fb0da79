"""Stacks: a cluster as files in git. `config` (placement ↔ stacks/Pulumi.<cluster>.yaml),
`synth` (the program under Pulumi mocks → `graph`), `diff` + `report` (what changes, at
what $/h), `project` (where stacks live), `validate` (catalog checks), `plan` (all of it)."""
