"""Evaluation of the robot's model: cached generation, automatic metrics, LLM judge, report.

The CLI is ``python -m esbot_training.evaluate`` (``esbot_training/evaluate.py``).
"""
