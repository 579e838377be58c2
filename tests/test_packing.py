import pytest
import torch

from flair_modernbert.encoder.packing import pack_padded, pack_sequences, unpack_to_padded


def _padded(seqs, pad=0, left=False):
    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), pad)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        if left:
            ids[i, longest - len(s) :] = torch.tensor(s)
            mask[i, longest - len(s) :] = 1
        else:
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
    return ids, mask


SEQS = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]]


@pytest.mark.parametrize("left", [False, True])
def test_pack_padded_concatenates_real_tokens_only(left):
    ids, mask = _padded(SEQS, pad=99, left=left)
    packed = pack_padded(ids, mask)
    assert packed.input_ids.tolist() == [t for s in SEQS for t in s]
    assert 99 not in packed.input_ids.tolist()
    assert packed.position_ids.tolist() == [0, 1, 2, 0, 0, 1, 2, 3, 4, 0, 1]
    assert packed.cu_seqlens.tolist() == [0, 3, 4, 9, 11]
    assert packed.cu_seqlens.dtype == torch.int32
    assert packed.max_seqlen == 5
    assert packed.seqlens == (3, 1, 5, 2)
    assert packed.total_tokens == 11 and packed.num_sequences == 4


@pytest.mark.parametrize("left", [False, True])
def test_index_map_round_trips(left):
    ids, mask = _padded(SEQS, pad=0, left=left)
    packed = pack_padded(ids, mask)
    assert torch.equal(unpack_to_padded(packed.input_ids, packed), ids)
    assert ((packed.index_map >= 0) == mask.bool()).all()
    stream = torch.randn(packed.total_tokens, 4)
    back = unpack_to_padded(stream, packed)
    assert torch.equal(back[mask.bool()], stream)


def test_pack_sequences_equals_pack_padded():
    a = pack_sequences(SEQS)
    b = pack_padded(*_padded(SEQS))
    for field in ("input_ids", "position_ids", "cu_seqlens", "index_map"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.seqlens == b.seqlens and a.max_seqlen == b.max_seqlen


def test_empty_sequence_is_refused():
    ids, mask = _padded([[1, 2], [3]])
    mask[1] = 0
    with pytest.raises(ValueError, match="empty sequence"):
        pack_padded(ids, mask)
    with pytest.raises(ValueError, match="empty"):
        pack_sequences([[1], []])


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="must both be"):
        pack_padded(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.long))
