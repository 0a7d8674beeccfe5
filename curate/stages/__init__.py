"""Stage implementations (engine-free)."""
