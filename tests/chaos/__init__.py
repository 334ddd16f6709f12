"""Fault-injection scenarios on real parts (`python -m tests.chaos` runs them on demand).

Each scenario kills, stops, cuts or refuses something while introductions are being
sent, then counts every email the SMTP server received by its Message-ID.
"""
