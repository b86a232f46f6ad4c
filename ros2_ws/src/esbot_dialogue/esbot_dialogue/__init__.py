"""esbot_dialogue: the LLM dialogue of the esbot robot.

Pure-Python cores (no rclpy): text_input, turn, history, prompting, generation (also the
Hugging Face toolkit training and evaluation use), adapters, dialogue_engine, assembly (the
engine built from its configuration), utterance_queue, turn_worker (the turns answered on
their own thread), memory (conversation store, budgeted context, running summary); the models
folder and sentence streaming come from esbot_common. The ROS wiring is dialogue_node.
"""
