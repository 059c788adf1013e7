"""Read models built from the events topic."""
