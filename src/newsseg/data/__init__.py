"""newsseg.data."""
