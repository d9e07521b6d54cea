"""End-to-end runs on top of the stages; the command line calls these and only prints."""
