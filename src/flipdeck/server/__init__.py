"""Provides flipdeck-server: the Falcon app factory, resources, services and models."""
