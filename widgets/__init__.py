"""Textual widgets that take plain data (see widgets.data) and post messages.

They never import the engine or the console: the console translates engine events.
"""
