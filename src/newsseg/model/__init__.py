"""newsseg.model."""
