"""Text corpora: sources, cleaning, PII masking, dedup, splits, decontamination, tokenizer, packing."""
