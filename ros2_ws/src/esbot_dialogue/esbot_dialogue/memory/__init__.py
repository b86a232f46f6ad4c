"""The dialogue's memory: the local conversation store (conversation_store), the budgeted
context built from it each turn (context_memory) and the LLM's running summary of older turns
(summarizer). Pure Python, no rclpy."""
