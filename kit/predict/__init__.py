"""Scoring texts and files with a trained model: input readers, output writers, the local engine
and the Ray Data engine."""
