"""Wiring: turns the validated settings and the service catalog into components, one step per concern."""
