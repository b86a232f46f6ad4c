"""The dialogue engine put together from its configuration: the one place that does it, for the
dialogue node and for every benchmark, so what is measured is what the robot runs.

EngineConfig holds the dialogue node's parameters that shape the engine (names and defaults as
in config/esbot_params.yaml; the node declares its parameters with these defaults);
build_engine loads the model (and adapter), builds the safety policy and the memory over the
conversation store, and hands back a DialogueEngine. Pure Python: no rclpy.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from esbot_common.log import Log

from .adapters import AdapterError
from .dialogue_engine import DialogueEngine, history_mode_for, purge_expired_turns
from .llm import BackendConfig, BackendUnavailable, GenerationSettings, LLMBackend, load_backend
from .history import ConversationHistory
from .memory.context_memory import SUMMARY_MODES, ContextMemory
from .memory.conversation_store import open_store
from .memory.summarizer import Summarizer
from .prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from .safety.alert_log import DEFAULT_ALERT_LOG, AlertRecord
from .safety.policy import SafetyPolicy

#: The node's parameters that make up GenerationSettings (seed -1 there: not fixed).
GENERATION_PARAMETERS = tuple(f.name for f in dataclasses.fields(GenerationSettings))
#: The node's parameters that make up BackendConfig (which engine runs the model).
BACKEND_PARAMETERS = tuple(f.name for f in dataclasses.fields(BackendConfig))


@dataclass(frozen=True)
class EngineConfig:
    """What the engine is built from; each field is the dialogue node parameter of that name
    (described in dialogue_node.PARAMETERS), the sampling ones gathered in `generation`, the
    backend's in `llm`."""

    llm: BackendConfig = field(default_factory=BackendConfig)
    adapter_path: str = ""
    system_prompt: str = ""
    history_representation: str = ""
    memory_store_path: str = ""
    session_id: str = ""
    user_name: str = ""
    new_session_after_hours: float = 12.0
    retention_days: int = 30
    summary_max_tokens: int = 64
    memory_recent_tokens: int = 0
    warm_next_prompt: bool = True
    context_window: int = 2048
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    safety_locale: str = "US"
    safety_hotlines_file: str = ""
    safety_alert_log: str = ""
    safety_learned_tier: bool = True
    safety_risk_model: str = ""

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> "EngineConfig":
        """From the node's parameters by name (a missing one keeps its default); ValueError
        names any that is not one of them."""
        own = {f.name for f in dataclasses.fields(cls)} - {"generation", "llm"}
        unknown = set(values) - own - set(GENERATION_PARAMETERS) - set(BACKEND_PARAMETERS)
        if unknown:
            raise ValueError(f"Not dialogue engine parameters: {', '.join(sorted(unknown))}.")
        return cls(**{name: value for name, value in values.items() if name in own},
                   generation=generation_settings(values),
                   llm=BackendConfig(**{name: values[name] for name in BACKEND_PARAMETERS if name in values}))

    def parameters(self) -> dict[str, Any]:
        """The node's parameters for this config (from_parameters' inverse; seed -1: not fixed)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("generation", "llm")}
        values |= {name: getattr(self.generation, name) for name in GENERATION_PARAMETERS}
        values |= {name: getattr(self.llm, name) for name in BACKEND_PARAMETERS}
        if values["seed"] is None:
            values["seed"] = -1
        return values


def generation_settings(values: Mapping[str, Any]) -> GenerationSettings:
    """GenerationSettings from the node's parameters (a missing one keeps its default)."""
    chosen = {name: values[name] for name in GENERATION_PARAMETERS if name in values}
    seed = chosen.pop("seed", -1)
    return GenerationSettings(**chosen, seed=None if seed < 0 else seed)


def build_engine(
    config: EngineConfig,
    share_dir: str | os.PathLike,
    on_alert: Callable[[AlertRecord], None] = lambda record: None,
    log: Log = logging.getLogger("esbot_dialogue"),
) -> DialogueEngine:
    """The engine the robot runs. share_dir is esbot_dialogue's share folder (installed:
    get_package_share_directory; in the source tree: the package's folder), whose
    config/safety_hotlines.yaml is the hotline table unless the config names one. on_alert gets
    every safety alert once it is in the durable log; log gets what a node logs at start.

    ModelLoadError for a missing model; ValueError for a wrong backend, device, dtype, prompt budget or
    session; StoreError when even an in-memory conversation store fails.
    """
    started = time.monotonic()
    llm = load_backend(config.llm, config.context_window, log)
    described = llm.describe()
    log.info(f"model {described['model']} on {described['backend']}, {described['device']} "
             f"({described['dtype']}) loaded in {time.monotonic() - started:.1f} s")
    if config.adapter_path:
        try:
            llm.load_adapter(config.adapter_path)
            log.info(f"adapter {config.adapter_path} loaded")
        except (AdapterError, BackendUnavailable) as error:
            log.error(f"{error} -- serving the base model instead")
    prompt_builder = PromptBuilder(llm.tokenizer, config.system_prompt or DEFAULT_SYSTEM_PROMPT,
                                   config.context_window, config.generation.max_new_tokens)
    safety = _safety_policy(config, Path(share_dir), log)
    memory = _memory(config, llm, prompt_builder, safety, log)
    return DialogueEngine(llm, prompt_builder, config.generation, safety=safety, on_alert=on_alert,
                          memory=memory, configured_representation=config.history_representation,
                          retention_days=config.retention_days, log=log)


def _safety_policy(config: EngineConfig, share_dir: Path, log: Log) -> SafetyPolicy:
    hotlines = config.safety_hotlines_file or str(share_dir / "config" / "safety_hotlines.yaml")
    alert_log = config.safety_alert_log or str(DEFAULT_ALERT_LOG.expanduser())
    learned_tier = None
    if config.safety_learned_tier:
        from .safety.learned import PACKAGED_MODEL, LearnedTier, RiskModel  # loads torch

        learned_tier = LearnedTier(RiskModel.load(config.safety_risk_model or PACKAGED_MODEL))
    policy = SafetyPolicy.from_config(hotlines, config.safety_locale, alert_log, learned_tier)
    for warning in policy.warnings:
        log.warning(f"safety: {warning}")
    tiers = f"rules + learned tier ({learned_tier.model.manifest.get('created', '?')})" if learned_tier \
        else "rules only"
    log.info(f"safety: {tiers}, hotlines {hotlines}, alert log {alert_log}")
    return policy


def _memory(config: EngineConfig, llm: LLMBackend, prompt_builder: PromptBuilder, safety: SafetyPolicy,
            log: Log) -> ContextMemory:
    """The conversation store and this run's session in it. A bad store never stops the
    robot: it is reported, moved aside or replaced by an in-memory one (open_store)."""
    store, errors = open_store(config.memory_store_path)
    for error in errors:
        log.error(f"memory: {error}")
    purge_expired_turns(store, config.retention_days, log)  # before an expired session could be continued
    user = config.user_name
    session_id, continued = store.resolve_session(config.session_id, user, config.new_session_after_hours * 3600)
    history = ConversationHistory(store, session_id, user)
    mode = history_mode_for(config.adapter_path if llm.adapter_path else None, config.history_representation)
    # Only the summary modes need the summarizer; an adapter's manifest never names one, so
    # the mode cannot become one later.
    summarizer = (Summarizer(llm, config.summary_max_tokens, config.context_window)
                  if mode in SUMMARY_MODES else None)
    memory = ContextMemory(prompt_builder, history, mode, summarizer, config.memory_recent_tokens,
                           on_warning=log.warning, warm_model=llm if config.warm_next_prompt else None,
                           next_instruction=safety.standing_instruction)
    log.info(f"memory: store {store.describe()}, session {session_id} "
             f"({f'continued, {len(history)} turns stored' if continued else 'new'}"
             f"{', user ' + user if user else ''}), past turns as {mode}")
    if continued:
        memory.prepare_next_turn()  # the continued conversation's context is read before the person speaks
    return memory
