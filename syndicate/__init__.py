"""Syndication: send what the build wrote to email and social networks, exactly once.

Never imported by the Pelican build. Reads the manifest the `manifest` plugin
writes, keeps the ledger, and talks to the network through one adapter per channel.
"""
