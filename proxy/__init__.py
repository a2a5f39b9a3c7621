"""The Bot API proxy on the ops listener: a polling bot points its API base URL here.

getUpdates is served from the store (feed.py), the calls that would break the appliance are
answered here (intercepts.py), every other method is flood-shaped and measured (shaper.py) and
goes to Telegram unchanged (upstream.py).
"""
