"""Events the messaging service emits (facts, past tense; ids only, never personal data)."""
