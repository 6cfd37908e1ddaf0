"""Speed and accuracy measurements, and the records notebooks may read. Tests never import this
package; ``tests/test_device_command.py`` runs its device command (``benchmarks/device/run.sh``)
with a tiny budget."""
