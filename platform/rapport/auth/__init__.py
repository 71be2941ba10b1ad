"""Identity and authorization."""
