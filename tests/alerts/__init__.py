"""Tests of twinai.alerts: rollup rules and signatures."""
