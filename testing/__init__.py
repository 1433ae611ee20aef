"""What the tests and the benchmarks share: the SSH test bed (network-namespace hosts
running sshd), a real Hadoop YARN cluster, the YARN ResourceManager emulator (for faults
the real one cannot produce on demand) and a real MIT KDC."""
