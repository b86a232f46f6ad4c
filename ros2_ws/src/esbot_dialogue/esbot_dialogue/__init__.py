"""esbot_dialogue: the LLM dialogue of the esbot robot.

Pure-Python cores (no rclpy): text_input, sentence_stream, history, prompting, generation,
adapters, dialogue_engine, utterance_queue, model_store, memory (conversation store, budgeted
context, running summary). The ROS wiring is dialogue_node.
"""
