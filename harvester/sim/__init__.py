"""Simulated government portals on loopback: the default target of the crawl demo and the test bed
of crawl tests. One module per CMS family (trs, hanweb, gbk, attachments, shell; large for
benchmarks; foreign is an off-registry host). See `start_simulator`."""
from harvester.sim.server import PortalInfo, Simulator, start_simulator

__all__ = ["PortalInfo", "Simulator", "start_simulator"]
