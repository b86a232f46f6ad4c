"""The learned risk tier's corpus, training, cross-validation and export (python -m esbot_training.train_risk)."""
