//! The fixed test vectors of `ledger::pow_vectors`, checked with this crate's kernels: by
//! the native tests, and by every worker in the browser when it starts.

pub use ledger::pow_vectors::{sample_header as vector_header, POW_VECTORS as VECTORS};

/// Checks the vectors (and a 16-bit search against ledger's) with kernel `L`; the wasm
/// self-test in the browser calls this with the kernel it was built with.
pub fn check<L: crate::lanes::Lanes>() -> Result<usize, String> {
    let header = vector_header();
    let lanes = crate::kernel::LaneSearch::new(&header);
    for (nonce, want) in VECTORS {
        let got = hex::encode(lanes.hash_with_nonce::<L>(*nonce));
        if got != *want {
            return Err(format!("nonce {nonce}: got {got}, want {want}"));
        }
    }
    let want = ledger::PowSearch::new(&header).search(0..1_000_000, 16);
    let got = lanes.search::<L>(0..1_000_000, 16);
    if got != want {
        return Err(format!("search: got {got:?}, want {want:?}"));
    }
    Ok(VECTORS.len() + 1)
}
