"""Evaluation: batched inference and metrics."""

from hone.evaluate.predict import evaluate_split, predict_logits

__all__ = ["evaluate_split", "predict_logits"]
