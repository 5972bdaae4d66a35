"""Foundations every stage uses: errors, text helpers, file helpers."""
