"""Local HTTP stand-ins for services the tests cannot reach.

Each stand-in validates every request (against ../shared/specs/ where a spec exists),
keeps state like the real service and can inject faults. See base.StandIn.
"""
