"""Speed and accuracy measurements (never part of the test run)."""
