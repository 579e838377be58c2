import logging

import pytest
import torch

from flair_modernbert.encoder import attention
from flair_modernbert.encoder.attention import resolve_backend, varlen_attention
from flair_modernbert.encoder.packing import pack_sequences


def _reference(q, k, v, seqlens, window):
    """Naive softmax attention, one sequence at a time, with an explicit window mask."""
    outs, start = [], 0
    for n in seqlens:
        qs, ks, vs = (t[start : start + n].transpose(0, 1).double() for t in (q, k, v))
        scores = qs @ ks.transpose(1, 2) / qs.shape[-1] ** 0.5
        if window != (-1, -1):
            pos = torch.arange(n)
            dist = pos[None, :] - pos[:, None]
            scores = scores.masked_fill(~((dist >= -window[0]) & (dist <= window[1])), float("-inf"))
        outs.append((scores.softmax(-1) @ vs).transpose(0, 1))
        start += n
    return torch.cat(outs).float()


@pytest.fixture
def qkv():
    torch.manual_seed(0)
    seqlens = [1, 7, 33, 200, 1100, 2]  # 1100 > the dense-band limit: exercises the blocked path
    total = sum(seqlens)
    q, k, v = (torch.randn(total, 3, 8) for _ in range(3))
    packed = pack_sequences([[0] * n for n in seqlens])
    return q, k, v, packed


@pytest.mark.parametrize("window", [(-1, -1), (8, 8), (64, 64)])
def test_packed_sdpa_matches_naive_reference(qkv, window):
    q, k, v, packed = qkv
    out = varlen_attention(
        q, k, v, packed.cu_seqlens, packed.max_seqlen, packed.seqlens, window=window, backend="sdpa"
    )
    ref = _reference(q, k, v, packed.seqlens, window)
    assert out.shape == q.shape
    assert (out - ref).abs().max() < 1e-5


def test_sequences_never_attend_across_boundaries(qkv):
    q, k, v, packed = qkv
    base = varlen_attention(q, k, v, packed.cu_seqlens, packed.max_seqlen, packed.seqlens, (8, 8))
    # change only the third sequence's keys and values
    start, end = int(packed.cu_seqlens[2]), int(packed.cu_seqlens[3])
    k2, v2 = k.clone(), v.clone()
    k2[start:end] += 5.0
    v2[start:end] -= 3.0
    moved = varlen_attention(q, k2, v2, packed.cu_seqlens, packed.max_seqlen, packed.seqlens, (8, 8))
    outside = torch.ones(q.shape[0], dtype=torch.bool)
    outside[start:end] = False
    assert torch.equal(base[outside], moved[outside])
    assert not torch.allclose(base[start:end], moved[start:end])


def test_local_window_limits_what_a_token_sees():
    torch.manual_seed(1)
    n = 100
    q, k, v = (torch.randn(n, 2, 4) for _ in range(3))
    packed = pack_sequences([[0] * n])
    base = varlen_attention(q, k, v, packed.cu_seqlens, n, packed.seqlens, (8, 8))
    v2 = v.clone()
    v2[60] += 10.0  # token 60 is within ±8 of tokens 52..68 only
    moved = varlen_attention(q, k, v2, packed.cu_seqlens, n, packed.seqlens, (8, 8))
    changed = (base - moved).abs().amax(dim=(1, 2)) > 0
    assert changed.nonzero().flatten().tolist() == list(range(52, 69))


def test_gradients_match_reference(qkv):
    q, k, v, packed = qkv
    q1, k1, v1 = (t.clone().requires_grad_() for t in (q, k, v))
    q2, k2, v2 = (t.clone().double().requires_grad_() for t in (q, k, v))
    weight = torch.randn_like(q)
    (varlen_attention(q1, k1, v1, packed.cu_seqlens, packed.max_seqlen, packed.seqlens, (8, 8)) * weight).sum().backward()
    (_reference(q2, k2, v2, packed.seqlens, (8, 8)).double() * weight.double()).sum().backward()
    for a, b in ((q1, q2), (k1, k2), (v1, v2)):
        assert (a.grad - b.grad.float()).abs().max() < 1e-4


def test_no_total_by_total_mask_is_built():
    """64 sequences of 512 tokens: a (total x total) float mask alone would take 4 GiB."""
    torch.manual_seed(2)
    seqlens = [512] * 64
    total = sum(seqlens)
    q, k, v = (torch.randn(total, 2, 8) for _ in range(3))
    packed = pack_sequences([[0] * n for n in seqlens])
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        varlen_attention(q, k, v, packed.cu_seqlens, packed.max_seqlen, packed.seqlens, (64, 64))
    largest = max(event.cpu_memory_usage for event in prof.events())
    assert largest < 64 * 2**20, f"an operation allocated {largest / 2**20:.0f} MiB"


def test_resolve_backend_on_cpu(caplog):
    attention._logged.clear()
    with caplog.at_level(logging.INFO, logger="flair_modernbert.encoder.attention"):
        assert resolve_backend("auto", torch.device("cpu")) == "sdpa"
        assert resolve_backend("auto", torch.device("cpu")) == "sdpa"
    assert sum("attention backend: sdpa on cpu" in r.getMessage() for r in caplog.records) == 1
    assert resolve_backend("sdpa", torch.device("cpu")) == "sdpa"


@pytest.mark.parametrize("name", ["flash_attn", "torch_varlen"])
def test_cuda_backends_on_cpu_say_so(name):
    with pytest.raises(ValueError, match=f"attention_backend='{name}' needs a CUDA device.*'cpu'"):
        resolve_backend(name, torch.device("cpu"))


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="attention_backend='flash' is unknown"):
        resolve_backend("flash", torch.device("cpu"))


@pytest.mark.parametrize("window", [(64, 64), (-1, -1)], ids=["local", "global"])
def test_a_long_sequence_never_builds_n_by_n_scores(window):
    """4,096 tokens: n x n scores of 2 heads would take 128 MiB; local layers use their band, global layers the
    fused kernel that 4-D inputs get."""
    torch.manual_seed(3)
    n = 4096
    q, k, v = (torch.randn(n, 2, 8) for _ in range(3))
    packed = pack_sequences([[0] * n])
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        out = varlen_attention(q, k, v, packed.cu_seqlens, n, packed.seqlens, window)
    largest = max(event.cpu_memory_usage for event in prof.events())
    assert largest < 32 * 2**20, f"an operation allocated {largest / 2**20:.0f} MiB"
    head = slice(1000, 1100)  # exact on a slice of queries against the dense reference
    ref = _reference(q, k, v, packed.seqlens, window)
    assert (out[head] - ref[head]).abs().max() < 1e-5
