"""`python -m kit.cli` (what `torchrun ... -m kit.cli finetune` runs)."""

from kit.cli.commands import main

main()
