"""The embedded demo and the throwaway Synapse it (and the tests) run."""
