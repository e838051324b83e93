"""What operators run against a live portal: simulate, restore (and the commands to come)."""
