"""Events the gateway service emits (facts, past tense; ids only, never personal data)."""
