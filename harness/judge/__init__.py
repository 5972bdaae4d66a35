"""Stage 4, judge: claims, their statistics and verdicts, and the numeric references of `harness check`."""
