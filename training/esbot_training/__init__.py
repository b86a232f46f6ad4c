"""esbot-training: ExTES/ESConv data, context representations and LoRA fine-tuning for esbot.

The adapters it writes (PEFT format + esbot_manifest.json) are what the dialogue node loads.
"""

__version__ = "0.1.0"
