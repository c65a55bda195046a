"""Test helpers shared by the test packages (raw Parquet builders, ...)."""
