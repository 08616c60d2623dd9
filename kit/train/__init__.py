"""Fine-tuning: the Trainer fed by the kit's batching strategies, and what a run reports."""
