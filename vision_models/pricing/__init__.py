"""Pricing: image tokens per family, and what an image costs on each model and provider."""
