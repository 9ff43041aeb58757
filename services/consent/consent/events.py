"""Events the consent service emits (facts, past tense; ids only, never personal data)."""
