"""The named scenario catalogue (a registry of workloads plus fault plans)."""
