"""Replies and reference perplexities for evaluation turns, batched and cached.

A turn's prompt is built by the robot's own ``PromptBuilder`` (through ``ExampleBuilder``,
which also renders the reference reply the way the chat template writes it), so the model is
evaluated on exactly the prompts it is served. Generation is batched (left padding) on the
model a ``TransformersBackend`` loaded (with or without its adapter); every reply is appended to a JSONL
cache under a key made of the model, the adapter's weights, the prompt, the dialogue and turn
and the sampling settings, so a stopped run resumes where it stopped.

Sampling is seeded once per batch (from ``generation.seed`` and the batch's first key): a run
repeats itself exactly with the same batches; greedy decoding is repeatable regardless.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from esbot_dialogue.llm import GenerationSettings

from ..data import Dialogue
from ..examples import ExampleBuilder, supporter_replies
from .cache import JsonlCache, cache_key, file_digest
from .config import EvalGenerationSettings
from .metrics import reference_nll


@dataclass(frozen=True)
class System:
    """One evaluated model: the base model, or the base model with one adapter."""

    label: str
    adapter_path: str | None = None
    adapter_digest: str | None = None  # sha256 of the adapter weights
    adapter_representation: str | None = None  # what its manifest says it was trained with

    @property
    def kind(self) -> str:
        return "base" if self.adapter_path is None else "fine-tuned"


def make_system(adapter_path: str | None) -> System:
    if adapter_path is None:
        return System("base")
    from esbot_dialogue.adapters import read_adapter_info

    info = read_adapter_info(adapter_path)
    # A training run directory holds its adapter in <run>/adapter: the run's name says more.
    label = info.path.parent.name if info.path.name == "adapter" else info.path.name
    representation = info.context_representation
    return System(label, str(info.path), file_digest(info.weights_file), str(representation) if representation else None)


@dataclass
class EvalTurn:
    """One supporter reply to predict, with its prompt under one representation."""

    dialogue_id: str
    reply_index: int
    reference: str
    utterance: str
    history: list[Any]  # esbot_dialogue Turn objects, oldest first
    strategy: str
    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)  # the reference as the template writes it
    history_turns_used: int = 0
    history_turns_dropped: int = 0

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(" ".join(map(str, self.prompt_ids)).encode()).hexdigest()[:16]


def select_turns(dialogues: Sequence[Dialogue], max_turns_per_dialogue: int | None) -> list[EvalTurn]:
    turns = []
    for dialogue in dialogues:
        for reply in supporter_replies(dialogue)[:max_turns_per_dialogue]:
            turns.append(EvalTurn(reply.dialogue_id, reply.reply_index, reply.target, reply.utterance,
                                  list(reply.history), reply.strategy))
    return turns


def build_prompts(turns: Sequence[EvalTurn], builder: ExampleBuilder, past_utterances: int | None = None) -> list[EvalTurn]:
    """Copies of the turns with their prompt (and reference ids) for this builder's representation;
    past_utterances keeps only that many most recent past utterances (the context-length curve)."""
    built = []
    for turn in turns:
        history = turn.history if past_utterances is None else turn.history[max(0, len(turn.history) - past_utterances):]
        prompt = builder.prompt_builder.build(history, turn.utterance)
        completion = builder.completion_ids(prompt.messages, turn.reference, prompt.prompt_text)
        if completion is None:
            raise RuntimeError("The chat template does not render the prompt as a prefix of the conversation; "
                               "reference perplexity cannot be computed for this model.")
        built.append(EvalTurn(turn.dialogue_id, turn.reply_index, turn.reference, turn.utterance, turn.history,
                              turn.strategy, list(prompt.input_ids), completion, prompt.history_turns_used,
                              prompt.history_turns_dropped))
    return built


def generate_batch(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], settings: GenerationSettings,
                   seed: int | None) -> list[tuple[str, int]]:
    """(text, new token count) per prompt; left-padded so every reply starts at the same position."""
    import torch

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(p) for p in prompts)
    device = next(model.parameters()).device
    input_ids = torch.tensor([[pad_id] * (width - len(p)) + list(p) for p in prompts], device=device)
    attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    arguments: dict[str, Any] = dict(input_ids=input_ids, attention_mask=attention, pad_token_id=pad_id,
                                     **settings.generate_arguments())
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        output = model.generate(**arguments)
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else {tokenizer.eos_token_id}
    results = []
    for row in output[:, width:].tolist():
        length = next((i + 1 for i, token in enumerate(row) if token in eos_ids), len(row))
        results.append((tokenizer.decode(row[:length], skip_special_tokens=True).strip(), length))
    return results


class TurnRunner:
    """Generation and reference NLL for one model, through the caches."""

    def __init__(self, model: Any, tokenizer: Any, model_id: str, settings: EvalGenerationSettings,
                 generations: JsonlCache, perplexities: JsonlCache, progress: Callable[..., Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.settings = settings
        self.generations = generations
        self.perplexities = perplexities
        self.progress = progress
        self.generated = 0  # replies generated (not from the cache) by this runner

    def generation_key(self, system: System, representation: str, turn: EvalTurn) -> str:
        return cache_key(kind="generation", model=self.model_id, adapter=system.adapter_digest,
                         representation=representation, dialogue=turn.dialogue_id, turn=turn.reply_index,
                         prompt=turn.prompt_hash, settings=asdict(self.settings))

    def generate(self, system: System, representation: str, turns: Sequence[EvalTurn]) -> list[dict[str, Any]]:
        keys = [self.generation_key(system, representation, turn) for turn in turns]
        missing = [(key, turn) for key, turn in zip(keys, turns) if key not in self.generations]
        size = self.settings.batch_size
        bar = self.progress(total=len(missing), desc=f"generate {system.label}/{representation}", unit="reply")
        # Longest prompts first: batches of similar lengths waste less on padding.
        missing.sort(key=lambda item: -len(item[1].prompt_ids))
        for start in range(0, len(missing), size):
            batch = missing[start:start + size]
            seed = (self.settings.seed + int(batch[0][0][:8], 16)) % (2 ** 31) if self.settings.do_sample else None
            started = time.perf_counter()
            replies = generate_batch(self.model, self.tokenizer, [turn.prompt_ids for _, turn in batch],
                                     self.settings, seed)
            seconds = time.perf_counter() - started
            for (key, turn), (text, new_tokens) in zip(batch, replies):
                self.generations.put(key, {
                    "system": system.label, "representation": representation, "dialogue_id": turn.dialogue_id,
                    "reply_index": turn.reply_index, "generated": text, "new_tokens": new_tokens,
                    "seconds_per_response": seconds / len(batch), "batch_size": len(batch),
                    "batch_tokens_per_s": sum(n for _, n in replies) / seconds if seconds > 0 else None,
                    "seed": seed,
                })
            self.generated += len(batch)
            bar.update(len(batch))
        bar.close()
        return [self.generations.get(key) for key in keys]

    def reference_nll(self, system: System, turn: EvalTurn) -> dict[str, Any]:
        key = cache_key(kind="nll", model=self.model_id, adapter=system.adapter_digest, prompt=turn.prompt_hash,
                        completion=hashlib.sha256(" ".join(map(str, turn.completion_ids)).encode()).hexdigest())
        record = self.perplexities.get(key)
        if record is None:
            nll, tokens = reference_nll(self.model, turn.prompt_ids, turn.completion_ids)
            record = self.perplexities.put(key, {"ref_nll_sum": nll, "ref_tokens": tokens})
        return record
