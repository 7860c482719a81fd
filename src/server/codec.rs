//! RESP request decoding (placeholder until written).
