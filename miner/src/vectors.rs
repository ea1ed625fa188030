//! Fixed test vectors shared by the native tests and the in-browser (wasm) test, so both
//! builds are checked against the same hashes.

use ledger::block::MinerTag;
use ledger::{BlockHash, BlockHeader, ElectionId, MerkleRoot};

/// A header with every field set to something recognisable.
pub fn vector_header() -> BlockHeader {
    BlockHeader {
        version: 1,
        election: ElectionId(42),
        index: 7,
        prev: BlockHash([0x11; 32]),
        merkle_root: MerkleRoot([0x22; 32]),
        timestamp: 1_764_000_000_000,
        difficulty: 16,
        miner_tag: MinerTag::from_text("vector"),
        nonce: 0,
    }
}

/// Nonces and the block hash `vector_header()` has with each (computed by `ledger`).
pub const VECTORS: &[(u64, &str)] = &[
    (
        0,
        "0aa35e16e5caecf4cd34cd1af638439a8dae5082aa7a7999e613859129c9b1ae",
    ),
    (
        1,
        "a465a181b51bf500634de7fb41ba1aa2b7a96ed6e321f082e3b3392b667aaf83",
    ),
    (
        2,
        "4b7be149b11b64ec6582994cfe52d835b4aa50a83c4317b486dc803d0e594179",
    ),
    (
        3,
        "7a7b62d87fe387a2c958ea4cfa695d1452b13f4a4823ef9dbb0a29d20d49299d",
    ),
    (
        4,
        "b7b2f7045781214c7d3afeea7140d858e48e3e789f21dc912305e627086d93fa",
    ),
    (
        5,
        "3fa1bc442fcab57ec6bc77e55c8b45495ff314bc28977bb7e5c6ded782025a35",
    ),
    (
        6,
        "6987c1c0c24ce49212ead9f32063472c5cbdaca07ae172943825141663d273dc",
    ),
    (
        7,
        "2920f6aec51dc0fc6c3a36b390b2b2d2979a3be6c20271df9ff4144d184371e9",
    ),
    (
        8,
        "26cb7be8e4b73ff090e86d12e31b3c2e0c08b71713ab9d025220478e7ba30e96",
    ),
    (
        255,
        "faea3dca510b84680dc2288c9ea362a5e82784ddc9302dfe131526e28020361f",
    ),
    (
        65_536,
        "3ce632eb38e3563ec838ccf23ed60404ea5ee209b52d4a9c0252708392a5cb31",
    ),
    (
        1 << 32,
        "41d6039dca1e005cec4de6aeea67b634a05905a153e849e19644a9acd167fbb8",
    ),
    (
        u64::MAX - 1,
        "0e4221ce385c3978eb85db581ac339132781ae3e615e9f89b9334468e3af42ae",
    ),
];

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
