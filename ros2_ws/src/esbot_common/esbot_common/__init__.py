"""esbot_common: what several esbot packages share, pure Python (no rclpy, no torch).

model_store (where the prepared model assets live, how model names map onto them),
sentence_stream (a streamed reply cut into sentences, for the dialogue and for speech) and log
(the logger interface the cores report through, so a node hands them its ROS logger). The
speech and sim packages import these without pulling in esbot_dialogue's LLM stack.
"""
