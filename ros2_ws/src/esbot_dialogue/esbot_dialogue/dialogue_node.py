"""The dialogue node: ROS wiring around DialogueEngine (dialogue_engine.py).

Subscribes:  user_transcript (esbot_msgs/Transcript, final ones are answered),
             barge_in (esbot_msgs/BargeIn: stop generating the interrupted reply),
             spoken_reply (esbot_msgs/SpokenReply: the history keeps what the user actually heard),
             robot_speaking (esbot_msgs/SpeakingState: reported as the SPEAKING state),
             listening_state (esbot_msgs/ListeningState: no background memory work while the user speaks)
Publishes:   reply (esbot_msgs/ReplyChunk, sentence by sentence, then one final chunk),
             conversation_state (esbot_msgs/ConversationState, latched),
             safety_alert (esbot_msgs/SafetyAlert, kept for late joiners),
             /diagnostics (diagnostic_msgs/DiagnosticArray)
Services:    reset_conversation, load_adapter, get_history, reset_safety_mode, forget_memory (esbot_msgs/srv)
Transcripts are queued and answered one at a time, in order, each at most once. Every one is
assessed by the safety policy before the LLM sees it, and every reply sentence before it is
published (esbot_dialogue/safety). Every turn is stored in the local conversation store before
it is answered (esbot_dialogue/memory), so a restarted node continues the conversation.
"""

import threading
import time
import uuid
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_interfaces import diagnostic_array, duration_msg, spin_node, time_msg
from esbot_dialogue.adapters import AdapterError, read_adapter_info
from esbot_dialogue.dialogue_engine import DialogueEngine, ReplyChunk
from esbot_dialogue.generation import ChatModel, GenerationSettings, ModelLoadError
from esbot_dialogue.history import ConversationHistory
from esbot_dialogue.memory.context_memory import SUMMARY_MODES, ContextMemory, memory_mode_for
from esbot_dialogue.memory.conversation_store import ConversationStore, StoreError, open_store
from esbot_dialogue.memory.summarizer import Summarizer
from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from esbot_dialogue.safety.alert_log import DEFAULT_ALERT_LOG, AlertLogError, AlertRecord
from esbot_dialogue.safety.policy import SafetyPolicy
from esbot_dialogue.utterance_queue import UtteranceQueue
from esbot_msgs.msg import (BargeIn, ConversationState, DialogueTurn, ListeningState, SafetyAlert, SpeakingState,
                            SpokenReply, Transcript)
from esbot_msgs.msg import ReplyChunk as ReplyChunkMsg
from esbot_msgs.srv import ForgetMemory, GetHistory, LoadAdapter, ResetConversation, ResetSafetyMode

# name: (default, description, extra descriptor fields); read_only ones need a restart.
PARAMETERS = {
    "model": ("HuggingFaceTB/SmolLM2-135M-Instruct",
              "Hugging Face causal LM id or local path; ids prepared in the models folder load offline.",
              {"read_only": True}),
    "models_dir": ("", 'Models folder; "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models.', {"read_only": True}),
    "device": ("auto", "auto (cuda if available, else cpu), cpu, cuda or cuda:N.", {"read_only": True}),
    "dtype": ("auto", "auto (bf16/fp16 on CUDA, fp32 on CPU), float32, float16 or bfloat16.", {"read_only": True}),
    "adapter_path": ("", 'LoRA adapter folder (PEFT format) loaded at start; "" = base model. '
                         "Use the load_adapter service to change it at run time.", {"read_only": True}),
    "system_prompt": ("", '"" = the built-in emotional-support prompt.', {"read_only": True}),
    "history_representation": ("", "How past turns are put in the context: raw, keypos, nostopwords, summary "
                                   "(older turns folded into a running LLM summary) or hybrid (summary + KeyPOS "
                                   'turns + the last exchange as said); "" = the one the loaded adapter '
                                   "was trained with (its esbot_manifest.json), else raw.",
                               {"read_only": True}),
    "memory_store_path": ("", 'SQLite conversation store (local only); "" = '
                              "~/.local/share/esbot/memory/conversations.sqlite3.", {"read_only": True}),
    "session_id": ("", 'Conversation session to continue or start; "" = the latest session of user_name (an '
                       "anonymous one only if active within new_session_after_hours), else a new one.",
                   {"read_only": True}),
    "user_name": ("", 'Ties the session to a person, whose conversation then continues on later days; "" = '
                      "anonymous.", {"read_only": True}),
    "new_session_after_hours": (12.0, "An anonymous conversation idle this long is not continued at start "
                                      "(someone else may be talking to the robot); 0 = always continue.",
                                {"read_only": True,
                                 "floating_point_range": [FloatingPointRange(from_value=0.0, to_value=8760.0)]}),
    "retention_days": (30, "Stored turns older than this are deleted (at start and hourly); 0 = kept until "
                           "forgotten.", {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=36500)]}),
    "summary_max_tokens": (64, "Longest running summary (summary and hybrid representations), in tokens.",
                           {"read_only": True, "integer_range": [IntegerRange(from_value=16, to_value=1024)]}),
    "memory_recent_tokens": (0, "Summary modes: older turns are folded into the summary once the turns after it "
                                "take more than this many tokens; 0 = what the budget leaves beside the system "
                                "prompt, the summary and a 64-token utterance.",
                             {"read_only": True, "integer_range": [IntegerRange(from_value=0, to_value=131072)]}),
    "warm_next_prompt": (True, "After each turn, read the next prompt's beginning (system prompt, summary, past "
                               "turns) into the model's KV cache in the background, so the next answer reads only "
                               "the new utterance; paused while the user speaks.", {"read_only": True}),
    "context_window": (2048, "Tokens for system prompt + history + utterance + reply.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=256, to_value=131072)]}),
    "max_new_tokens": (128, "Longest reply, in tokens.",
                       {"read_only": True, "integer_range": [IntegerRange(from_value=1, to_value=4096)]}),
    "temperature": (0.7, "Sampling temperature.",
                    {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=5.0)]}),
    "top_p": (0.95, "Nucleus sampling probability mass.",
              {"floating_point_range": [FloatingPointRange(from_value=0.01, to_value=1.0)]}),
    "top_k": (50, "Sample among the k most likely tokens.",
              {"integer_range": [IntegerRange(from_value=0, to_value=100000)]}),
    "do_sample": (True, "Sample (true) or decode greedily (false).", {}),
    "repetition_penalty": (1.1, "Penalty for repeating tokens (1.0 = none).",
                           {"floating_point_range": [FloatingPointRange(from_value=1.0, to_value=3.0)]}),
    "seed": (-1, "Sampling seed; -1 = not fixed.", {"integer_range": [IntegerRange(from_value=-1, to_value=2**31 - 1)]}),
    "safety_locale": ("US", "Country whose crisis hotlines the robot gives (US, UK, CA, AU, IN; others get the "
                            "international fallback, with a warning).", {"read_only": True}),
    "safety_hotlines_file": ("", 'Hotline table (YAML); "" = the one installed with esbot_dialogue '
                                 "(config/safety_hotlines.yaml). Operators must check its numbers.",
                             {"read_only": True}),
    "safety_alert_log": ("", 'Durable JSON-lines log of safety alerts, written before anything else happens; '
                             '"" = ~/.local/share/esbot/safety/alerts.jsonl.', {"read_only": True}),
    "safety_semantic_tier": (True, "Add the MiniLM similarity tier to the rule tier (it can only raise a risk "
                                   "level); false = rules only.", {"read_only": True}),
}
GENERATION_PARAMETERS = ("temperature", "top_p", "top_k", "do_sample", "repetition_penalty", "seed")


class DialogueNode(Node):
    def __init__(self):
        super().__init__("dialogue")
        for name, (default, description, extra) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, **extra))
        self.state_pub = self.create_publisher(ConversationState, interfaces.CONVERSATION_STATE, interfaces.STATE_QOS)
        self.reply_pub = self.create_publisher(ReplyChunkMsg, interfaces.REPLY, interfaces.STREAM_QOS)
        self.alert_pub = self.create_publisher(SafetyAlert, interfaces.SAFETY_ALERT, interfaces.ALERT_QOS)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.queue = UtteranceQueue()
        self._publish_state(ConversationState.IDLE)  # until the model is loaded

        self.engine = self._load_engine()
        self._received_at: dict[str, float] = {}  # utterance id -> monotonic time of arrival
        self._engine_lock = threading.Lock()  # one turn, reset or adapter change at a time
        self._cancel = threading.Event()
        self._stopping = threading.Event()
        self._turns_answered = 0
        self._last_stats = None
        self._last_prompt = None  # of the last answered turn: what the memory put in the context

        self.add_post_set_parameters_callback(self._after_set_parameters)
        self.create_subscription(Transcript, interfaces.USER_TRANSCRIPT, self._on_transcript, interfaces.STREAM_QOS)
        self._speaking_turn = ""  # the reply the robot's voice is playing, "" when silent
        self._generating_turn = ""  # the reply being generated, "" when none
        self.create_subscription(BargeIn, interfaces.BARGE_IN, self._on_barge_in, interfaces.STREAM_QOS)
        self.create_subscription(SpokenReply, interfaces.SPOKEN_REPLY, self._on_spoken_reply, interfaces.STREAM_QOS)
        self.create_subscription(SpeakingState, interfaces.ROBOT_SPEAKING, self._on_speaking, interfaces.STATE_QOS)
        self.create_subscription(ListeningState, interfaces.LISTENING_STATE, self._on_listening, interfaces.STATE_QOS)
        services = MutuallyExclusiveCallbackGroup()
        self.create_service(ResetConversation, interfaces.RESET_CONVERSATION, self._on_reset, callback_group=services)
        self.create_service(LoadAdapter, interfaces.LOAD_ADAPTER, self._on_load_adapter, callback_group=services)
        self.create_service(GetHistory, interfaces.GET_HISTORY, self._on_get_history, callback_group=services)
        self.create_service(ResetSafetyMode, interfaces.RESET_SAFETY_MODE, self._on_reset_safety_mode,
                            callback_group=services)
        self.create_service(ForgetMemory, interfaces.FORGET_MEMORY, self._on_forget_memory, callback_group=services)
        self.create_timer(3600.0, lambda: self._purge_expired(self.engine.history.store), callback_group=services)
        self.create_timer(2.0, self._publish_diagnostics)

        self._worker = threading.Thread(target=self._answer_utterances, name="dialogue-worker", daemon=True)
        self._worker.start()
        self._publish_state(ConversationState.LISTENING)
        self.get_logger().info("ready: listening for transcripts")

    # --- set-up -----------------------------------------------------------------------------
    def _param(self, name):
        return self.get_parameter(name).value

    def _generation_settings(self) -> GenerationSettings:
        seed = self._param("seed")
        return GenerationSettings(
            temperature=self._param("temperature"), top_p=self._param("top_p"), top_k=self._param("top_k"),
            max_new_tokens=self._param("max_new_tokens"), do_sample=self._param("do_sample"),
            repetition_penalty=self._param("repetition_penalty"), seed=None if seed < 0 else seed)

    def _load_engine(self) -> DialogueEngine:
        started = time.monotonic()
        chat_model = ChatModel.load(self._param("model"), device=self._param("device"), dtype=self._param("dtype"),
                                    models_dir=self._param("models_dir") or None)
        self.get_logger().info(f"model {chat_model.model_id} on {chat_model.device} ({chat_model.dtype}) "
                               f"loaded in {time.monotonic() - started:.1f} s")
        adapter = self._param("adapter_path")
        if adapter:
            try:
                chat_model.load_adapter(adapter)
                self.get_logger().info(f"adapter {adapter} loaded")
            except AdapterError as error:
                self.get_logger().error(f"{error} -- serving the base model instead")
        prompt_builder = PromptBuilder(chat_model.tokenizer, self._param("system_prompt") or DEFAULT_SYSTEM_PROMPT,
                                       self._param("context_window"), self._param("max_new_tokens"))
        return DialogueEngine(chat_model, prompt_builder, self._generation_settings(),
                              safety=self._load_safety_policy(), on_alert=self._publish_alert,
                              memory=self._load_memory(chat_model, prompt_builder))

    def _history_representation(self, adapter_path: str | None) -> str:
        info = read_adapter_info(adapter_path) if adapter_path else None
        return memory_mode_for(info, self._param("history_representation"))

    def _load_memory(self, chat_model: ChatModel, prompt_builder: PromptBuilder) -> ContextMemory:
        """The conversation store and this run's session in it. A bad store never stops the
        robot: it is reported, moved aside or replaced by an in-memory one (open_store)."""
        store, errors = open_store(self._param("memory_store_path"))
        for error in errors:
            self.get_logger().error(f"memory: {error}")
        self._purge_expired(store)
        user = self._param("user_name")
        session_id, continued = store.resolve_session(self._param("session_id"), user,
                                                      self._param("new_session_after_hours") * 3600)
        history = ConversationHistory(store, session_id, user)
        mode = self._history_representation(chat_model.adapter_path)
        # Only the summary modes need the summarizer; an adapter's manifest never names one, so
        # the mode cannot become one later.
        summarizer = (Summarizer(chat_model, self._param("summary_max_tokens"), self._param("context_window"))
                      if mode in SUMMARY_MODES else None)
        memory = ContextMemory(prompt_builder, history, mode, summarizer, self._param("memory_recent_tokens"),
                               on_warning=self.get_logger().warning,
                               warm_model=chat_model if self._param("warm_next_prompt") else None)
        self.get_logger().info(f"memory: store {store.describe()}, session {session_id} "
                               f"({f'continued, {len(history)} turns stored' if continued else 'new'}"
                               f"{', user ' + user if user else ''}), past turns as {mode}")
        if continued:
            memory.prepare_next_turn()  # the continued conversation's context is read before the person speaks
        return memory

    def _purge_expired(self, store: ConversationStore) -> None:
        days = self._param("retention_days")
        if days <= 0:
            return
        try:
            deleted = store.purge_older_than(time.time() - days * 86400)
        except StoreError as error:
            self.get_logger().error(f"memory: retention purge failed: {error}")
            return
        if deleted:
            self.get_logger().info(f"memory: {deleted} turns older than {days} days deleted (retention_days)")

    def _load_safety_policy(self) -> SafetyPolicy:
        hotlines = self._param("safety_hotlines_file") or str(
            Path(get_package_share_directory("esbot_dialogue")) / "config" / "safety_hotlines.yaml")
        alert_log = self._param("safety_alert_log") or str(DEFAULT_ALERT_LOG.expanduser())
        model_tier = None
        if self._param("safety_semantic_tier"):
            from esbot_dialogue.safety.semantic import SemanticTier  # loads the MiniLM encoder

            model_tier = SemanticTier()
        policy = SafetyPolicy.from_config(hotlines, self._param("safety_locale"), alert_log, model_tier)
        for warning in policy.warnings:
            self.get_logger().warning(f"safety: {warning}")
        self.get_logger().info(f"safety: {'rules + MiniLM' if model_tier else 'rules only'}, hotlines {hotlines}, "
                               f"alert log {alert_log}")
        return policy

    def _after_set_parameters(self, parameters) -> None:
        # Ranges are enforced by the descriptors; the next turn samples with the new values.
        if any(p.name in GENERATION_PARAMETERS for p in parameters):
            self.engine.settings = self._generation_settings()
            self.get_logger().info(f"generation settings now {self.engine.settings}")

    # --- transcripts in, chunks out ------------------------------------------------------------
    def _on_transcript(self, msg: Transcript) -> None:
        if not msg.is_final:
            return  # partial hypotheses are for display; only final transcripts are answered
        utterance_id = msg.utterance_id or f"anon-{uuid.uuid4().hex[:12]}"
        if not self.queue.put(utterance_id, msg.text):
            self.get_logger().warning(f"transcript {utterance_id} already received: not answered twice")
            return
        self._received_at[utterance_id] = time.monotonic()
        if self.queue.pending() > 1 or self._engine_lock.locked():
            self.get_logger().info(f"transcript {utterance_id} queued ({self.queue.pending()} waiting)")

    def _on_barge_in(self, msg: BargeIn) -> None:
        # The user talks over the reply: stop generating it (the queued utterances stay). A
        # barge-in on an older turn, whose generation is over, has nothing left to stop here.
        generating = self._generating_turn
        if generating and msg.interrupted_turn_id in ("", generating):
            self._cancel.set()
            self.get_logger().info(f"barge-in: generation of turn {generating} stopped")

    def _on_spoken_reply(self, msg: SpokenReply) -> None:
        if msg.interrupted:
            self.engine.record_spoken(msg.turn_id, msg.spoken_text, True)
            self.get_logger().info(f"turn {msg.turn_id} was cut short; the history keeps what was heard: "
                                   f"{msg.spoken_text!r}")

    def _on_speaking(self, msg: SpeakingState) -> None:
        self._speaking_turn = msg.turn_id if msg.speaking else ""
        self._publish_state(*self._current_state())

    def _on_listening(self, msg: ListeningState) -> None:
        self.engine.memory.pause_background(msg.user_speaking or msg.transcribing)

    def _current_state(self) -> tuple[int, str]:
        if self._speaking_turn:
            return ConversationState.SPEAKING, self._speaking_turn
        if self._generating_turn or self._engine_lock.locked():
            return ConversationState.THINKING, self._generating_turn
        return ConversationState.LISTENING, ""

    def _answer_utterances(self) -> None:
        while not self._stopping.is_set():
            item = self.queue.get(timeout=0.2)
            if item is None:
                continue
            with self._engine_lock:
                self._cancel.clear()
                self._publish_state(*self._current_state())
                try:
                    outcome = self.engine.answer(item.utterance_id, item.text, self._publish_chunk, self._cancel)
                except Exception as error:  # a failed turn must not stop the robot listening
                    self.get_logger().error(f"answering {item.utterance_id} failed: {error!r}")
                    outcome = None
                finally:
                    self._received_at.pop(item.utterance_id, None)
            if outcome is not None:
                for warning in outcome.warnings:
                    self.get_logger().warning(f"{item.utterance_id}: {warning}")
                if not outcome.ignored:
                    self._turns_answered += 1
                    self._last_stats = outcome.stats
                    self._last_prompt = outcome.prompt
            self._generating_turn = ""
            self._publish_state(*self._current_state())

    def _publish_chunk(self, chunk: ReplyChunk) -> None:
        received = self._received_at.get(chunk.utterance_id, time.monotonic())
        msg = ReplyChunkMsg(turn_id=chunk.turn_id, utterance_id=chunk.utterance_id, chunk_index=chunk.chunk_index,
                            text=chunk.text, is_final=chunk.is_final,
                            since_utterance=duration_msg(time.monotonic() - received))
        msg.header.stamp = self.get_clock().now().to_msg()
        self.reply_pub.publish(msg)
        if chunk.chunk_index == 0 and not chunk.is_final:
            self._generating_turn = chunk.turn_id
            self._publish_state(*self._current_state())

    def _publish_state(self, state: int, turn_id: str = "") -> None:
        msg = ConversationState(state=state, turn_id=turn_id, pending_utterances=self.queue.pending())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(msg)

    def _publish_alert(self, record: AlertRecord) -> None:
        """Called by the engine right after the alert is durable and before anything is spoken."""
        msg = SafetyAlert(alert_id=record.alert_id, level=record.level, category=record.category,
                          utterance_id=record.utterance_id, text=record.text, action_taken=record.action_taken)
        msg.header.stamp = time_msg(record.stamp)
        self.alert_pub.publish(msg)
        self.get_logger().error(f"SAFETY ALERT level {record.level} ({record.category}) on {record.utterance_id}: "
                                f"{record.action_taken}")

    # --- services ---------------------------------------------------------------------------
    def _on_reset(self, request: ResetConversation.Request, response: ResetConversation.Response):
        self._cancel.set()  # a reply being generated belongs to the conversation being forgotten
        with self._engine_lock:
            try:
                response.cleared_turns = self.engine.reset()
            except StoreError as error:
                response.success, response.message = False, f"not reset: {error}"
                self.get_logger().error(f"conversation reset: {response.message}")
                return response
        response.success = True
        response.message = f"cleared {response.cleared_turns} turns"
        self.get_logger().info(f"conversation reset ({request.reason or 'no reason given'}): {response.message}")
        return response

    def _on_forget_memory(self, request: ForgetMemory.Request, response: ForgetMemory.Response):
        history = self.engine.history
        session_id = request.session_id or ("" if request.user_name else history.session_id)
        current = session_id == history.session_id or (request.user_name and request.user_name == history.user_name)
        if current:
            self._cancel.set()  # a reply being generated belongs to what is being forgotten
        try:
            with self._engine_lock:
                sessions, turns = history.store.forget(session_id=session_id, user_name=request.user_name)
        except (StoreError, ValueError) as error:
            response.success, response.message = False, f"nothing forgotten: {error}"
            self.get_logger().error(f"forget_memory: {response.message}")
            return response
        response.success = True
        response.forgotten_sessions, response.forgotten_turns = sessions, turns
        what = f"user {request.user_name!r}" if request.user_name else f"session {session_id}"
        response.message = f"forgot {what}: {sessions} sessions, {turns} turns"
        if current:
            response.message += "; the conversation starts afresh"
        self.get_logger().warning(f"forget_memory ({request.reason or 'no reason given'}): {response.message}")
        return response

    def _on_load_adapter(self, request: LoadAdapter.Request, response: LoadAdapter.Response):
        chat_model = self.engine.chat_model
        with self._engine_lock:  # waits for the reply in progress
            try:
                if request.adapter_path:
                    chat_model.load_adapter(request.adapter_path)
                    response.message = f"adapter {chat_model.adapter_path} loaded"
                else:
                    chat_model.unload_adapter()
                    response.message = "adapter unloaded: serving the base model"
                memory = self.engine.memory
                memory.mode = self._history_representation(chat_model.adapter_path)
                response.message += f"; past turns in {memory.mode} representation"
                response.success = True
            except AdapterError as error:
                response.success = False
                response.message = str(error)
        response.active_adapter = chat_model.adapter_path or ""
        if response.success:  # rclpy ties each logging call site to one severity
            self.get_logger().info(f"load_adapter: {response.message}")
        else:
            self.get_logger().error(f"load_adapter: {response.message}")
        return response

    def _on_reset_safety_mode(self, request: ResetSafetyMode.Request, response: ResetSafetyMode.Response):
        policy = self.engine.safety
        try:
            policy.reset_careful_mode(request.operator_name or "unnamed operator", request.reason)
            response.success, response.message = True, "careful mode ended"
            self.get_logger().warning(f"safety: careful mode ended by {request.operator_name or 'unnamed operator'} "
                                      f"({request.reason or 'no reason given'})")
        except AlertLogError as error:  # the reset must be on record before it takes effect
            response.success, response.message = False, f"not reset: {error}"
            self.get_logger().error(f"safety: {response.message}")
        return response

    def _on_get_history(self, request: GetHistory.Request, response: GetHistory.Response):
        turns = self.engine.history.turns()
        response.total_turns = len(turns)
        if request.max_turns:
            turns = turns[-request.max_turns:]
        response.turns = [DialogueTurn(stamp=time_msg(t.stamp), turn_id=t.turn_id, role=t.role, text=t.text,
                                       interrupted=t.interrupted) for t in turns]
        return response

    def _publish_diagnostics(self) -> None:
        chat_model = self.engine.chat_model
        memory, history = self.engine.memory, self.engine.history
        values = {
            "model": chat_model.model_id, "device": str(chat_model.device), "dtype": str(chat_model.dtype),
            "adapter": chat_model.adapter_path or "", "turns_answered": str(self._turns_answered),
            "pending_utterances": str(self.queue.pending()),
            "safety_careful_mode": str(self.engine.safety.careful_mode),
            "memory_store": history.store.describe(), "memory_session": history.session_id,
            "memory_user": history.user_name, "memory_mode": memory.mode,
        }
        level, message = DiagnosticStatus.OK, "ready"
        if not history.store.persistent:
            level, message = DiagnosticStatus.WARN, "conversation memory is not persistent (see the log)"
        try:
            summary = memory.summary()
            values["history_turns"] = str(len(history))
            values["memory_summary_covers_turns"] = str(summary.covered_turns if summary else 0)
        except StoreError as error:
            level, message = DiagnosticStatus.ERROR, f"conversation store unreadable: {error}"
        if self._last_prompt is not None:  # what the memory put in the last turn's context
            values["last_history_turns_used"] = str(self._last_prompt.history_turns_used)
            values["last_history_turns_dropped"] = str(self._last_prompt.history_turns_dropped)
            values["last_summary_used"] = str(bool(self._last_prompt.summary_text))
            values["last_prompt_tokens"] = str(self._last_prompt.prompt_tokens)
            values["last_memory_build_ms"] = f"{memory.last_build_s * 1000:.1f}"
        if self._last_stats is not None:
            values["last_time_to_first_text_s"] = f"{self._last_stats.time_to_first_text_s or 0:.3f}"
            values["last_tokens_per_s"] = f"{self._last_stats.tokens_per_s:.1f}"
            values["last_prompt_tokens_reused"] = str(self._last_stats.reused_prompt_tokens)
        values["memory_background_paused"] = str(memory.background_paused)  # the user is speaking
        values["memory_last_warmed_tokens"] = str(memory.last_warmed_tokens)
        self.diagnostics_pub.publish(diagnostic_array(self, "dialogue", message, values, level,
                                                      hardware_id=str(chat_model.device)))

    def destroy_node(self):
        # Stop generation at the next token and let the worker finish, so the process never
        # exits with torch still running in a thread.
        self._stopping.set()
        self._cancel.set()
        self._worker.join(timeout=10.0)
        self.engine.memory.close()  # stops a summary being written
        self.engine.history.store.close()
        return super().destroy_node()


def main(args=None):
    # A wrong model, device, dtype, prompt budget or session: say exactly what, not a traceback.
    spin_node("dialogue", DialogueNode, (ModelLoadError, ValueError, StoreError), threads=3, args=args)


if __name__ == "__main__":
    main()
