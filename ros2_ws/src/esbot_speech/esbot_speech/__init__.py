"""esbot_speech: the speech layer of the esbot robot.

Pure-Python cores (no rclpy): audio_format (AudioFrame payloads <-> float audio, resampling),
silero_vad (streaming voice activity probabilities), vad_segmenter (utterances and barge-in
events from those probabilities), gestures (gesture plans for a reply), barge_in (what was
actually said when the robot is interrupted). The ASR and TTS nodes are built over them.
"""
