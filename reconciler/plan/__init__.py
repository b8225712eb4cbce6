"""Planning: from policies, hub records and channel snapshots to a plan."""
