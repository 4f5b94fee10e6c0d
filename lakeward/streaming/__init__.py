"""Streams into governed tables: messages to batch parts, consumers, the micro-batch front door, the run loop."""
