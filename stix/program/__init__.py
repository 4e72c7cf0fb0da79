"""The Pulumi program: a placement in, its cloud's resources declared, outputs out.

The same program runs under the real engine (`python -m stix.program` via `Pulumi.yaml`,
or the Automation API inline) and under mocks for offline synthesis (`stix.stack.synth`).
Each cloud's part lives in its package (`stix/clouds/<name>/program.py`); `run` picks it.
"""
