"""What is measured: benchmark runs, their cells, statistics and reports."""
