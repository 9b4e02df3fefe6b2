"""Many runs: grids, sweeps, the replication campaign's plan and cost, benchmarks."""
