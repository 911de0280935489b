"""Partner exchange: node identities, partners, and (to come) signed, encrypted messages."""
