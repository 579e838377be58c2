"""The encoder's option values, without importing torch (recipes are checked against them before any model
is loaded)."""

#: ``attention_backend`` values (see :mod:`flair_modernbert.encoder.attention`).
BACKENDS = ("auto", "flash_attn", "torch_varlen", "sdpa")
#: ``subtoken_pooling`` values (see :mod:`flair_modernbert.encoder.pooling`).
POOLINGS = ("first", "last", "first_last", "mean")
