"""anti-relous: an anti-harassment SMS line that a bot flood cannot bankrupt or silence."""

__version__ = "0.1.0"
