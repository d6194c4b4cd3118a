"""newsseg.train."""
