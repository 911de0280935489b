"""Cooperation between partner agencies over the exchange: agreements with
service levels, incidents with deadlines, points-of-contact pings, and joint
designation proposals."""
