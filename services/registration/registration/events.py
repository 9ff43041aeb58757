"""Events the registration service emits (facts, past tense; ids only, never personal data)."""
