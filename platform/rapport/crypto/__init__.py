"""Field encryption (AES-256-GCM by default, pluggable cipher) and envelope key management."""
