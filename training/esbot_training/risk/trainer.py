"""Fine-tuning the risk classifier (LoRA on the encoder's top layers + the three heads), prediction, export.

A plain PyTorch loop rather than a Trainer: three heads whose losses apply to different
examples (level and category to user cases, reply to robot sentences), and a checkpoint per
epoch so an interrupted run resumes where it stopped. On 2 CPU cores a full fine-tuning step
of MiniLM costs ~1.6 s for 32 short texts; LoRA goes on the top `lora.layers` only, so the
frozen bottom layers are run once per example (BottomCache) and every epoch and every
cross-validation fold trains only the top: several times faster, same model at inference
(the adapter is merged into the full encoder on the robot).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Optional, Sequence

import torch
from tqdm.auto import tqdm

from esbot_dialogue.safety.learned import HEADS_FILE, MANIFEST, RiskClassifier, default_encoder_path, encode_pairs

from .config import RiskRunConfig
from .corpus import REPLY, USER, RiskExample


def encoder_path(name: str) -> str:
    return default_encoder_path() if name.startswith("packaged:") else name


def load_tokenizer(config: RiskRunConfig):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(encoder_path(config.train.base_encoder))


def new_classifier(config: RiskRunConfig) -> RiskClassifier:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    torch.manual_seed(config.train.seed)
    encoder = AutoModel.from_pretrained(encoder_path(config.train.base_encoder))
    lora = LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                      target_modules=list(config.lora.target_modules), bias="none",
                      layers_to_transform=first_trained_layers(config, encoder), layers_pattern="layer")
    return RiskClassifier(get_peft_model(encoder, lora))


def first_trained_layers(config: RiskRunConfig, encoder) -> list[int]:
    layers = encoder.config.num_hidden_layers
    return list(range(layers - config.lora.layers, layers))


def _bert(classifier: RiskClassifier):
    encoder = classifier.encoder
    return encoder.get_base_model() if hasattr(encoder, "get_base_model") else encoder


def _run_layers(bert, hidden: torch.Tensor, attention_mask: torch.Tensor, layers) -> torch.Tensor:
    mask, _ = bert._create_attention_masks(attention_mask=attention_mask, encoder_attention_mask=None,
                                           embedding_output=hidden, encoder_hidden_states=None,
                                           past_key_values=None)
    for layer in layers:
        hidden = layer(hidden, mask)
    return hidden


class BottomCache:
    """The frozen bottom layers' output per example (fp16, unpadded), computed once."""

    def __init__(self, classifier: RiskClassifier, tokenizer, examples: Sequence[RiskExample], split: int,
                 max_tokens: int, batch_size: int = 64) -> None:
        self.split = split
        self.states: list[torch.Tensor] = []
        bert = _bert(classifier)
        bert.eval()
        with torch.inference_mode():
            for start in tqdm(range(0, len(examples), batch_size), desc="encode frozen layers", unit="batch",
                              leave=False):
                batch = encode(tokenizer, examples[start:start + batch_size], max_tokens)
                hidden = bert.embeddings(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
                hidden = _run_layers(bert, hidden, batch["attention_mask"], bert.encoder.layer[:split])
                for row, length in zip(hidden, batch["attention_mask"].sum(1).tolist()):
                    self.states.append(row[:length].half().clone())

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        states = [self.states[i].float() for i in indices]
        longest = max(len(s) for s in states)
        hidden = torch.zeros(len(states), longest, states[0].shape[-1])
        mask = torch.zeros(len(states), longest, dtype=torch.long)
        for row, state in enumerate(states):
            hidden[row, :len(state)] = state
            mask[row, :len(state)] = 1
        return hidden, mask


def top_forward(classifier: RiskClassifier, cache: BottomCache, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """The trained top layers and heads on cached bottom states."""
    bert = _bert(classifier)
    hidden, mask = cache.batch(indices)
    hidden = _run_layers(bert, hidden, mask, bert.encoder.layer[cache.split:])
    return classifier.pool_and_classify(hidden, mask)


def encode(tokenizer, examples: Sequence[RiskExample], max_tokens: int) -> dict[str, torch.Tensor]:
    """The batch exactly as the robot encodes its inputs (learned.encode_pairs)."""
    return encode_pairs(tokenizer, [(e.first, e.second) for e in examples], max_tokens)


def _batches(examples: Sequence[RiskExample], indices: Sequence[int], batch_size: int,
             rng: random.Random) -> list[list[int]]:
    """Shuffled batches (of example indices) of similar lengths, less padding, in shuffled order."""
    order = list(indices)
    rng.shuffle(order)
    batches = []
    chunk = batch_size * 50
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(examples[i].first) + len(examples[i].second))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _loss(outputs: dict[str, torch.Tensor], batch: Sequence[RiskExample], crisis_weight: float) -> torch.Tensor:
    cross_entropy = torch.nn.functional.cross_entropy
    total = outputs["level"].new_zeros(())
    users = [i for i, e in enumerate(batch) if e.task == USER]
    if users:
        levels = torch.tensor([batch[i].level for i in users])
        weights = torch.tensor([crisis_weight if batch[i].is_crisis else 1.0 for i in users])
        total = total + (cross_entropy(outputs["level"][users], levels, reduction="none") * weights).mean()
        risky = [i for i in users if batch[i].category >= 0]
        if risky:
            total = total + cross_entropy(outputs["category"][risky], torch.tensor([batch[i].category for i in risky]))
    replies = [i for i, e in enumerate(batch) if e.task == REPLY]
    if replies:
        total = total + cross_entropy(outputs["reply"][replies], torch.tensor([batch[i].reply for i in replies]))
    return total


def _trainable(classifier: RiskClassifier) -> dict[str, torch.Tensor]:
    return {name: p for name, p in classifier.named_parameters() if p.requires_grad}


def train_classifier(classifier: RiskClassifier, examples: Sequence[RiskExample], indices: Sequence[int],
                     cache: BottomCache, config: RiskRunConfig, epochs: int, checkpoint: Optional[Path] = None,
                     description: str = "train") -> RiskClassifier:
    """Fine-tune a new classifier on examples[indices]; with a checkpoint path, resume from it
    and save after each epoch."""
    train = config.train
    parameters = list(_trainable(classifier).values())
    optimizer = torch.optim.AdamW(parameters, lr=train.learning_rate, weight_decay=train.weight_decay)
    rng = random.Random(train.seed)
    total_steps = math.ceil(len(indices) / train.batch_size) * epochs
    warmup = max(1, int(total_steps * train.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup))))
    first_epoch = 0
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        classifier.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.setstate(state["rng"])
        first_epoch = state["epoch"] + 1
    for epoch in range(first_epoch, epochs):
        classifier.train()
        progress = tqdm(_batches(examples, indices, train.batch_size, rng),
                        desc=f"{description} epoch {epoch + 1}/{epochs}", unit="batch", leave=False)
        running = None
        for batch in progress:
            loss = _loss(top_forward(classifier, cache, batch), [examples[i] for i in batch], train.crisis_weight)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            progress.set_postfix(loss=f"{running:.3f}")
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"model": {k: v for k, v in classifier.state_dict().items() if k in _trainable(classifier)},
                        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "rng": rng.getstate(), "epoch": epoch}, tmp)
            tmp.replace(checkpoint)
    classifier.eval()
    return classifier


def predict_cached(classifier: RiskClassifier, cache: BottomCache, indices: Sequence[int],
                   batch_size: int = 128) -> dict[str, torch.Tensor]:
    """Softmax probabilities per head for examples[indices] (training-time evaluation)."""
    outputs: dict[str, list[torch.Tensor]] = {"level": [], "category": [], "reply": []}
    classifier.eval()
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            logits = top_forward(classifier, cache, indices[start:start + batch_size])
            for name in outputs:
                outputs[name].append(torch.softmax(logits[name], dim=-1))
    return {name: torch.cat(parts) for name, parts in outputs.items()}


def export(classifier: RiskClassifier, tokenizer, out_dir: Path, manifest: dict) -> None:
    """The robot's model folder: LoRA adapter (fp16), heads (fp16), manifest (with thresholds)."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    classifier.encoder.save_pretrained(str(out_dir))
    adapter = out_dir / "adapter_model.safetensors"
    from safetensors.torch import load_file

    save_file({k: v.half().contiguous() for k, v in load_file(str(adapter)).items()}, str(adapter))
    heads = {f"{name}.{key}": value.detach().half().contiguous()
             for name, module in classifier.heads().items() for key, value in module.state_dict().items()}
    save_file(heads, str(out_dir / HEADS_FILE))
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    readme = out_dir / "README.md"
    if readme.exists() and "library_name: peft" in readme.read_text(encoding="utf-8")[:200]:
        readme.unlink()  # peft's generated stub; the model card is written by train_risk
