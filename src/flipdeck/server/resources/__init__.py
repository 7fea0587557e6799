"""Provides the HTTP resources: each translates a request into a service call and back.

Resources hold no rules; services do, and raise ``ApiError`` which the app's one error handler
turns into a problem document.
"""
