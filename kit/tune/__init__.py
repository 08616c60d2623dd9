"""`nsmckit tune`: the fastest configuration that meets a latency budget, with its accuracy cost: offline
(file scoring: variant x strategy x batch size) or serving (server settings, searched under open-loop load)."""
