"""Events the identity service emits (facts, past tense; ids only, never personal data)."""
