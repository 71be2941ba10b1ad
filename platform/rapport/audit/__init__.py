"""The tamper-evident audit log (DESIGN.md D8): append, Merkle proofs, checkpoints, verify."""
